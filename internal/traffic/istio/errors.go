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

package istio

import (
	"fmt"
	"strings"

	"github.com/cutover-dev/cutover/internal/traffic"
)

// Kinds of the routing objects, as they appear in errors and in Observed.Corrected.
const (
	KindVirtualService  = "VirtualService"
	KindDestinationRule = "DestinationRule"
)

// ReferenceError is an error about one referenced routing object. Its message names the object
// ("VirtualService shop/checkout: http route \"primary\" has no destination with subset
// \"canary\""), and it wraps traffic.ErrReferenceNotFound or traffic.ErrInvalidReference.
type ReferenceError struct {
	// Kind is KindVirtualService or KindDestinationRule.
	Kind string
	// Namespace and Name identify the object.
	Namespace string
	Name      string
	// Reason says what is wrong with it.
	Reason string
	// Err is traffic.ErrReferenceNotFound or traffic.ErrInvalidReference.
	Err error
}

// Error implements error.
func (e *ReferenceError) Error() string {
	return fmt.Sprintf("%s %s/%s: %s", e.Kind, e.Namespace, e.Name, e.Reason)
}

// Unwrap returns the sentinel error the ReferenceError wraps.
func (e *ReferenceError) Unwrap() error { return e.Err }

func notFound(kind, ns, name string) *ReferenceError {
	return &ReferenceError{Kind: kind, Namespace: ns, Name: name, Reason: "not found", Err: traffic.ErrReferenceNotFound}
}

func invalid(kind, ns, name, format string, args ...any) *ReferenceError {
	return &ReferenceError{Kind: kind, Namespace: ns, Name: name, Reason: fmt.Sprintf(format, args...),
		Err: traffic.ErrInvalidReference}
}

// joinedError is several errors found in one pass. Unlike errors.Join it keeps the message on
// one line ("; " between the errors), as it ends up in a condition message.
type joinedError []error

func (e joinedError) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e joinedError) Unwrap() []error { return e }

// join returns nil, the only error, or a joinedError of all of them.
func join(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return joinedError(errs)
	}
}
