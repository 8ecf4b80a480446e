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

package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// MaxBodySize is the most of a response body an HTTP gate reads (1 MiB); the rest is ignored.
const MaxBodySize = 1 << 20

// bodyInText is how many characters of the body Measurement.Text shows for a non-2xx status.
const bodyInText = 100

// HTTPProvider measures gates with spec.gates[].http: one request, its URL, header values and
// body expanded with Vars. `result` is a map: "status" (an int), "body" (a string, at most
// MaxBodySize bytes) and, when the body parses as JSON, "json" (numbers are doubles). Any
// status is a value the success condition judges; only a failed request (no response, a
// timeout, a broken body) is an error.
type HTTPProvider struct {
	// Client sends the requests; nil means http.DefaultClient. Its own Timeout, if any, applies
	// besides the gate's.
	Client *http.Client
}

var _ Provider = (*HTTPProvider)(nil)

// Measure implements Provider.
func (p *HTTPProvider) Measure(ctx context.Context, gate cutoverv1alpha1.Gate, vars Vars) (Measurement, error) {
	if gate.HTTP == nil {
		return Measurement{}, fmt.Errorf("gate %q has no http measurement: %w", gate.Name, ErrNoMeasurement)
	}
	timeout := gate.GetTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := newRequest(ctx, gate.HTTP, vars)
	if err != nil {
		return Measurement{}, err
	}
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Measurement{}, requestError(ctx, req, "failed", timeout, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize))
	if err != nil {
		return Measurement{}, requestError(ctx, req, "failed while reading the body", timeout, err)
	}
	return httpMeasurement(resp.StatusCode, body), nil
}

// newRequest builds the request of spec with vars expanded.
func newRequest(ctx context.Context, spec *cutoverv1alpha1.HTTPGate, vars Vars) (*http.Request, error) {
	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if spec.Body != "" {
		body = strings.NewReader(vars.Expand(spec.Body))
	}
	target := vars.Expand(spec.URL)
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("the request %s %s cannot be made: %w", method, target, unwrapURLError(err))
	}
	for _, h := range spec.Headers {
		value := vars.Expand(h.Value)
		if strings.EqualFold(h.Name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Add(h.Name, value)
	}
	return req, nil
}

// requestError says what became of req; the URL is shown without its password.
func requestError(ctx context.Context, req *http.Request, what string, timeout time.Duration, err error) error {
	err = unwrapURLError(err)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s %s got no response within %s: %w", req.Method, req.URL.Redacted(), timeout, err)
	}
	return fmt.Errorf("%s %s %s: %w", req.Method, req.URL.Redacted(), what, err)
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the method and URL.
func unwrapURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// httpMeasurement is the value and text of a response. The text, which the status and the
// GateFailed message show, names the status and the start of the body when it says why: an
// error's body, or a JSON body (what a condition on result.json judged), compacted.
func httpMeasurement(status int, body []byte) Measurement {
	value := map[string]any{"status": int64(status), "body": string(body)}
	var parsed any
	isJSON := json.Unmarshal(body, &parsed) == nil
	if isJSON {
		value["json"] = parsed
	}
	text := "status " + strconv.Itoa(status)
	var snippet string
	switch {
	case status < 200 || status > 299:
		snippet = strings.Join(strings.Fields(string(body)), " ")
	case isJSON:
		var compact bytes.Buffer
		if json.Compact(&compact, body) == nil {
			snippet = compact.String()
		}
	}
	if snippet != "" {
		text += ": " + truncate(snippet, bodyInText)
	}
	return Measurement{Value: value, Text: truncate(text, MaxTextLength)}
}
