package plan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Blue-green under the same randomised sequences as the canary: new revisions mid-flight,
// promotes, aborts, retries, restarts, spec.paused, stalled pods, and with a mesh the router's
// chaos (drift, stale reads, dropped writes, lost pods). The invariants of check and checkMesh
// hold on every iteration, and every sequence converges once the chaos stops.

func newBlueGreenSim(seed uint64, mesh bool) *sim {
	r := rand.New(rand.NewPCG(seed, 0xb1e6))
	n := 1 + r.Int32N(10)
	spec := canarySpec(n)
	bg := &cutoverv1alpha1.BlueGreenStrategy{
		AutoPromote:    ptr(r.IntN(2) == 0),
		ScaleDownDelay: &metav1.Duration{Duration: time.Duration(r.IntN(4)) * time.Minute},
	}
	if r.IntN(2) == 0 {
		bg.AutoPromoteAfter = &metav1.Duration{Duration: time.Duration(r.IntN(3)) * time.Minute}
	}
	spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: bg}
	withSimGates(r, &spec)
	spec.ProgressDeadlineSeconds = ptr(int32(120 + r.IntN(480)))
	s := &sim{r: r}
	if mesh {
		s.c = newMeshCluster(spec, s.newHash())
	} else {
		s.c = newCluster(spec, s.newHash())
	}
	s.c.now = t0.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
	s.c.real = newRealism(r)
	return s
}

func TestBlueGreenSequences(t *testing.T) {
	for _, mesh := range []bool{false, true} {
		t.Run(fmt.Sprintf("mesh=%v", mesh), func(t *testing.T) {
			failed := 0
			stats := map[string]int{}
			for seed := uint64(1); seed <= 200 && failed < 3; seed++ {
				s := newBlueGreenSim(seed, mesh)
				s.stats = stats
				if err := s.run(); err != nil {
					failed++
					var lines []string
					replay := newBlueGreenSim(seed, mesh)
					replay.log = func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
					_ = replay.run()
					if len(lines) > 40 {
						lines = lines[len(lines)-40:]
					}
					bg := s.c.spec.Strategy.BlueGreen
					t.Errorf("seed %d (N=%d, autoPromote %v after %v, scaleDownDelay %v): %v\nlast iterations:\n%s", seed, s.c.n(),
						*bg.AutoPromote, bg.AutoPromoteAfter, bg.ScaleDownDelay.Duration, err, strings.Join(lines, "\n"))
				}
			}
			if failed > 0 {
				return
			}
			t.Logf("blue-green sequences went through: %v", stats)
			for _, k := range []string{
				"event " + EventCompleted, "event " + EventPromoted, "event " + EventWeightChanged,
				"event " + EventRetried, "event " + EventAborted, "superseded", "restart", "scaled",
				"event " + EventGatePassed, "event " + EventGateFailed, "abort reason " + cutoverv1alpha1.ReasonGateFailed,
				"converged Healthy", "converged Aborted", "switch",
			} {
				if stats[k] == 0 {
					t.Errorf("no sequence went through %q", k)
				}
			}
			checkRealismSeen(t, stats)
		})
	}
}
