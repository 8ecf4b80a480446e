/*
Copyright 2026 The Cutover Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package registry

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/cutover-dev/cutover/internal/image"
)

// headFallback reports whether a failed HEAD is worth retrying as GET: not when the context is
// done, the network failed, or the registry answered with a status other than 405 or 501.
func headFallback(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode == http.StatusMethodNotAllowed || te.StatusCode == http.StatusNotImplemented
	}
	var ue *url.Error
	return !errors.As(err, &ue)
}

// classify wraps err in an *image.ResolveError of the right kind for ref.
func classify(ctx context.Context, ref string, err error) error {
	return image.NewResolveError(ref, kindOf(ctx, err), err)
}

// kindOf maps a go-containerregistry error to an image error kind; nil means unclassified.
func kindOf(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return image.ErrUnavailable
	}
	if errors.Is(err, &name.ErrBadName{}) {
		return image.ErrInvalidReference
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return image.ErrUnavailable
		}
		return nil
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return image.ErrUnauthorized
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return image.ErrNotFound
		}
	}
	switch {
	case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
		return image.ErrUnauthorized
	case te.StatusCode == http.StatusNotFound:
		return image.ErrNotFound
	case te.Temporary() || te.StatusCode >= 500:
		return image.ErrUnavailable
	}
	return nil
}
