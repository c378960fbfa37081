package textcell

import "testing"

func TestCells(t *testing.T) {
	if got := Clean("web\x1b[2J\nx"); got != "web\uFFFD[2J\uFFFDx" {
		t.Errorf("Clean = %q", got)
	}
	if got := Clean("plain"); got != "plain" {
		t.Errorf("Clean changed plain text: %q", got)
	}
	if got := Pad("äb", 4); got != "äb  " || Width(got) != 4 {
		t.Errorf("Pad = %q", got)
	}
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-x": "'-x", "@a": "'@a", "\tx": "'\tx", "web": "web", "": "", "-": "-"} {
		if got := Inert(in); got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
	}
}
