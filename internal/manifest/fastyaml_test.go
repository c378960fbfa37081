package manifest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// v3Roots parses data with yaml.v3, keeping the non-empty documents' roots.
func v3Roots(data string) ([]*node, error) {
	var roots []*node
	dec := yaml.NewDecoder(strings.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return roots, nil
		} else if err != nil {
			return nil, err
		}
		if len(doc.Content) == 1 {
			if root := fromYAML(doc.Content[0], map[*yaml.Node]*node{}); !isNull(root) {
				roots = append(roots, root)
			}
		}
	}
}

func nonNull(roots []*node) []*node {
	var out []*node
	for _, r := range roots {
		if !isNull(r) {
			out = append(out, r)
		}
	}
	return out
}

// sameTree describes the first difference between two node trees.
func sameTree(want, got *node, path string) error {
	if want.kind != got.kind || want.tag != got.tag || want.value != got.value || want.style != got.style ||
		want.line != got.line || len(want.content) != len(got.content) {
		return fmt.Errorf("%s: want kind %d tag %d value %q style %d at line %d with %d children; got kind %d tag %d value %q style %d at line %d with %d children",
			path, want.kind, want.tag, want.value, want.style, want.line, len(want.content),
			got.kind, got.tag, got.value, got.style, got.line, len(got.content))
	}
	for i := range want.content {
		if err := sameTree(want.content[i], got.content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkSame fails when the fast parser accepts data but reads it
// differently from yaml.v3.
func checkSame(t *testing.T, name, data string) (fast bool) {
	t.Helper()
	got, ok := fastYAML(data, &fastScratch{})
	if !ok {
		return false
	}
	want, err := v3Roots(data)
	if err != nil {
		t.Fatalf("%s: the fast parser accepts what yaml.v3 refuses (%v)", name, err)
	}
	got = nonNull(got)
	if len(got) != len(want) {
		t.Fatalf("%s: %d documents, yaml.v3 reads %d", name, len(got), len(want))
	}
	for i := range want {
		if err := sameTree(want[i], got[i], fmt.Sprintf("doc%d", i)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return true
}

func TestFastYAMLMatchesV3OnCorpus(t *testing.T) {
	var files []string
	for _, root := range []string{corpusDir(t), "testdata"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fast := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if checkSame(t, f, string(data)) {
			fast++
		} else {
			t.Logf("slow path: %s", f)
		}
	}
	// Nearly every real manifest takes the fast path.
	if fast < len(files)*95/100 {
		t.Errorf("fast path for %d of %d files", fast, len(files))
	}
	t.Logf("fast path for %d of %d files", fast, len(files))
}

func TestFastYAMLCases(t *testing.T) {
	tests := []struct {
		name string
		data string
		fast bool
	}{
		{"mapping", "a: 1\nb: two\nc:\n  d: [x, 'y', \"z\"]\n", true},
		{"indentless sequence", "a:\n- 1\n- b: 2\n  c: 3\nd: 4\n", true},
		{"nested sequences", "- - a\n  - b\n- -\n  - c\n", true},
		{"null values", "a:\nb: ~\nc: null\n-d: e\nf:\n  # comment\ng:\n", true},
		{"literal", "a: |\n  one\n   two\n\n  three\n\nb: x\n", true},
		{"literal keep", "a: |+\n  one\n\n\nb: x\n", true},
		{"literal strip", "a: |-\n  one\n\n", true},
		{"folded", "a: >\n  one\n  two\n\n  three\n    more\n  four\nb: >-\n  x\n  y\n", true},
		{"folded at end without newline", "a: >\n  one\n  two", true},
		{"empty block scalar", "a: |\nb: 1\n", true},
		{"block scalar with comment-like lines", "a: |\n  # not a comment\n  x: y\n", true},
		{"block scalar in sequence", "- |\n  text\n- >-\n   folded\n", true},
		{"quoted escapes", "a: \"tab\\tnl\\nq\\\"u\\u00e9\\x41\\U0001F600\"\nb: 'it''s'\n", true},
		{"comments everywhere", "# head\na: 1 # one\n# mid\nb: [1, 2] # two\n  # odd indent\nc: {x: 1}\n", true},
		{"documents", "---\na: 1\n...\n---\n# only a comment\n---\nb: 2\n", true},
		{"tags resolved", "a: [1, 1.5, 0x1F, 0o17, 1_000, -3, true, False, ~, .inf, 2001-12-14, 1e3, +1, '1', 0b101, 012, 1.2.3]\n", true},
		{"keys of every kind", "80: http\ntrue: yes\n\"quoted key\": 1\n'single': 2\nurl: http://x:80/y\na b: c d\n", true},
		{"multi-line flow", "args: [\n  \"--a\",\n  b, # comment\n  {c: d}\n  ]\n", true},
		{"root indented", "  a: 1\n  b: 2\n", true},
		{"scalar root", "just a string\n", true},
		{"unicode", "name: café ☕\n", true},
		{"empty", "", true},
		{"anchor", "a: &x 1\nb: *x\n", false},
		{"tag", "a: !!str 1\n", false},
		{"multi-line plain", "a: one\n  two\n", false},
		{"multi-line quoted", "a: \"one\n  two\"\n", false},
		{"tab", "a:\t1\n", false},
		{"crlf", "a: 1\r\nb: |\r\n  x\r\n\r\n  y\r\nc: 'q'\r\n", true},
		{"lone carriage return", "a: 1\rb: 2\n", false},
		{"directive", "%YAML 1.2\n---\na: 1\n", false},
		{"complex key", "? a\n: b\n", false},
		{"explicit indentation", "a: |2\n   x\n", false},
		{"syntax error", "a: b: c\n", false},
		{"bad indentation", "a:\n    b: 1\n  c: 2\n", false},
		{"unclosed flow", "a: [1, 2\n", false},
		{"trailing comma", "a: [1, 2,]\n", false},
		{"emoji", "a: 😀\n", false},
		{"deep block sequence", strings.Repeat("- ", 200) + "x\n", false},
		{"deep block mapping", deepMapping(150), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkSame(t, tt.name, tt.data); got != tt.fast {
				t.Errorf("fast path %v, want %v", got, tt.fast)
			}
		})
	}
}

func FuzzFastYAML(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb:\n- x\n- y: z\n", "a: |\n  x\n\n  y\n", "a: >-\n  x\n  y\n", "a: [1, {b: c}]\n", "a: 'x''y'\nb: \"\\n\"\n",
		"---\na: 1\n...\n", "- - a\n  - b\n", "a: 1\r\nb: |\r\n  x\r\n\r\n", "a: >+\n  x\n\n  y\n\n", "a:\n  b:\n    c: d\n", "k: v # c\n", "a: {x: [1, 2], y: 'z'}\n",
	} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"testdata/multi.yaml", "testdata/list.yaml", "testdata/anchors.yaml", "testdata/app/deploy.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSame(t, "fuzz", string(data))
	})
}

func deepMapping(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("k:\n")
	}
	return b.String()
}
