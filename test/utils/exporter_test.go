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

package utils_test

import (
	"io"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/cutover-dev/cutover/test/utils"
)

func TestExporter(t *testing.T) {
	g := NewWithT(t)
	e := utils.NewExporter(t)
	e.SetRate("abc", "200", 9)
	e.SetRate("abc", "500", 1)
	e.Add("abc", "200", 0.5)
	e.Set("abc", 0.25)
	scrape := func() string {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+e.Target()+"/metrics", nil)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		return string(body)
	}
	g.Expect(scrape()).To(And(
		ContainSubstring(`http_requests_total{code="200",revision="abc"} 9.5`),
		ContainSubstring(`http_requests_total{code="500",revision="abc"} 1`),
		ContainSubstring(`cutover_test_value{revision="abc"} 0.25`),
	))
	e.SetRate("abc", "500", 0)
	g.Expect(scrape()).To(And(
		ContainSubstring(`http_requests_total{code="200",revision="abc"} 18.5`),
		ContainSubstring(`http_requests_total{code="500",revision="abc"} 1`),
	))
}
