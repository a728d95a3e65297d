package train

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlot: a log with a resumed (repeated) step plots to a decodable PNG
// and an SVG with one point per distinct step.
func TestPlot(t *testing.T) {
	v := 2.5
	log := `{"step":0,"loss":4,"lr":0.001,"tokens_per_second":1,"ms_per_step":1,"total":3}
{"step":1,"loss":3,"lr":0.001,"tokens_per_second":1,"ms_per_step":1,"total":3}
{"step":1,"loss":3,"lr":0.001,"tokens_per_second":1,"ms_per_step":1,"total":3}
{"step":2,"val_loss":2.5,"total":3}
{"step":2,"loss":2,"lr":0.001,"tokens_per_second":1,"ms_per_step":1,"total":3}
`
	path := filepath.Join(t.TempDir(), "log.jsonl")
	os.WriteFile(path, []byte(log), 0o644)
	rs, err := ReadLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 || rs[3].ValLoss == nil || *rs[3].ValLoss != v {
		t.Fatalf("records %+v", rs)
	}
	img, err := PlotPNG(rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
	svg, err := PlotSVG(rs)
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if strings.Count(s, "<polyline") != 2 || strings.Count(s, "<circle") != 1 || !strings.HasPrefix(s, "<svg") {
		t.Errorf("svg:\n%s", s)
	}
	if pts := strings.Fields(s[strings.Index(s, `points="`)+8:]); !strings.HasPrefix(pts[3], `"/>`) {
		t.Errorf("train curve does not have 3 points: %v", pts[:4])
	}
	if _, err := PlotPNG(nil); err == nil {
		t.Error("empty log plotted")
	}
	os.WriteFile(path, []byte("{bad\n"), 0o644)
	if _, err := ReadLog(path); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad log: %v", err)
	}
}
