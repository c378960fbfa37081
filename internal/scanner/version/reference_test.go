package version

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// These tests compare Compare with each ecosystem's own implementation where
// it is installed on the machine: dpkg, rpm (its Lua rpm.vercmp), Python's
// packaging (vendored in pip), Maven's ComparableVersion (maven-artifact
// jar) and npm's semver. They run on generated versions that share prefixes
// often, so the interesting branches (equal heads, different tails) are hit.
// A tool that is missing skips its test.

// gen builds versions from atoms with a fixed seed.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *gen) pick(atoms ...string) string { return atoms[g.r.IntN(len(atoms))] }

func (g *gen) atoms(n int, atoms ...string) string {
	var b strings.Builder
	for range g.r.IntN(n + 1) {
		b.WriteString(g.pick(atoms...))
	}
	return b.String()
}

// samplePairs returns every pair of the first few versions and random pairs
// of the rest, n in all.
func samplePairs(g *gen, vs []string, n int) [][2]string {
	var out [][2]string
	for i := 0; i < 12 && i < len(vs); i++ {
		for j := i + 1; j < 12 && j < len(vs); j++ {
			out = append(out, [2]string{vs[i], vs[j]})
		}
	}
	for len(out) < n {
		out = append(out, [2]string{vs[g.r.IntN(len(vs))], vs[g.r.IntN(len(vs))]})
	}
	return out
}

func need(t *testing.T, tool string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs external tools")
	}
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s is not installed", tool)
	}
	return p
}

// compareWith checks Compare against the tool's answers; answer returns
// -1, 0, 1, or ok=false when the tool rejects a version.
func compareWith(t *testing.T, s Scheme, pairs [][2]string, answers []int, valid []bool) {
	t.Helper()
	if len(answers) != len(pairs) {
		t.Fatalf("%s: the tool answered %d of %d pairs", s, len(answers), len(pairs))
	}
	agree, rejected := 0, 0
	for i, p := range pairs {
		got, err := s.Compare(p[0], p[1])
		switch {
		case valid != nil && !valid[i]:
			rejected++
			if err == nil {
				t.Errorf("%s: the tool rejects %q or %q, Compare says %d", s, p[0], p[1], got)
			}
		case err != nil:
			t.Errorf("%s: Compare(%q, %q): %v; the tool says %d", s, p[0], p[1], err, answers[i])
		case got != answers[i]:
			t.Errorf("%s: Compare(%q, %q) = %d, the tool says %d", s, p[0], p[1], got, answers[i])
		default:
			agree++
		}
	}
	t.Logf("%s: %d pairs ordered alike, %d rejected alike, of %d", s, agree, rejected, len(pairs))
}

func TestReferenceDpkg(t *testing.T) {
	dpkg := need(t, "dpkg")
	g := newGen(1)
	var vs []string
	for range 120 {
		v := g.pick("", "", "", "0:", "1:", "2:") + g.pick("0", "1", "2", "10", "01") +
			g.atoms(3, "0", "1", "9", "10", ".", "a", "z", "~", "~~", "+", "+b1", "~rc1", ".0", "+dfsg")
		if g.r.IntN(3) > 0 {
			v += "-" + g.pick("0", "1", "2", "10", "1.1", "1+b1", "1~bpo1", "1+deb12u1", "1+deb12u10", "1ubuntu0.1", "a", "1~")
		}
		vs = append(vs, v)
	}
	pairs := samplePairs(g, vs, 150)
	answers := make([]int, len(pairs))
	for i, p := range pairs {
		answers[i] = 1
		for op, v := range map[string]int{"lt": -1, "eq": 0} {
			err := exec.Command(dpkg, "--compare-versions", p[0], op, p[1]).Run()
			if err == nil {
				answers[i] = v
			}
		}
	}
	compareWith(t, Dpkg, pairs, answers, nil)
}

func TestReferenceRPM(t *testing.T) {
	rpm := need(t, "rpm")
	g := newGen(2)
	var vs []string
	for range 150 {
		v := g.pick("", "", "", "0:", "1:", "2:") + g.pick("0", "1", "2", "10", "01") +
			g.atoms(4, "0", "1", "2", "10", "01", ".", "a", "b", "~", "^", "_", "rc", "git", "..")
		if g.r.IntN(3) > 0 {
			v += "-" + g.pick("1", "2", "10", "1.el9", "1.el9_2", "1.el9_10", "1~rc", "1^1", "0.1")
		}
		vs = append(vs, v)
	}
	pairs := samplePairs(g, vs, 3000)
	var lua strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&lua, "io.write(rpm.vercmp([==[%s]==], [==[%s]==]), '\\n')\n", p[0], p[1])
	}
	// The script is too long for an argument; rpm reads it from a file.
	script := filepath.Join(t.TempDir(), "vercmp.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(rpm, "--eval", "%{lua: dofile([==["+script+"]==])}").Output()
	if err != nil {
		t.Fatalf("rpm --eval: %v", err)
	}
	var answers []int
	for f := range strings.FieldsSeq(string(out)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("rpm printed %q", f)
		}
		answers = append(answers, sign(n))
	}
	compareWith(t, RPM, pairs, answers, nil)
}

// runJSON runs a tool that reads pairs as JSON on stdin and prints one
// answer per line: -1, 0, 1, or E for a rejected version.
func runJSON(t *testing.T, pairs [][2]string, name string, args ...string) ([]int, []bool) {
	t.Helper()
	in, err := json.Marshal(pairs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", name, err, stderr.String())
	}
	var answers []int
	var valid []bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if sc.Text() == "E" {
			answers, valid = append(answers, 0), append(valid, false)
			continue
		}
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("%s printed %q", name, sc.Text())
		}
		answers, valid = append(answers, sign(n)), append(valid, true)
	}
	return answers, valid
}

const pythonCompare = `
import json, sys
from pip._vendor.packaging.version import Version, InvalidVersion
for a, b in json.load(sys.stdin):
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        print("E")
        continue
    print((va > vb) - (va < vb))
`

func TestReferencePEP440(t *testing.T) {
	python := need(t, "python3")
	if exec.Command(python, "-c", "import pip._vendor.packaging.version").Run() != nil {
		t.Skip("python3 has no pip with packaging")
	}
	g := newGen(3)
	var vs []string
	for range 200 {
		v := g.pick("", "", "", "1!", "0!", "v") + g.pick("0", "1", "2", "10", "01") +
			g.atoms(2, ".0", ".1", ".2", ".10", ".01") +
			g.pick("", "", "a", "b", "rc", "alpha", "c", "pre", "-a", ".b", "_rc", "a1", "b2", "rc10", "a0", "-beta-3") +
			g.pick("", "", ".post1", "-1", ".post", "post2", ".r2", "-post-3", ".rev") +
			g.pick("", "", ".dev", ".dev1", "dev2", "-dev", "_dev0") +
			g.pick("", "", "", "+a", "+1", "+a.1", "+1.a", "+ubuntu-1", "+0", "+a_b", "+A", "+", "+a..b", "x", ".", "-")
		vs = append(vs, v)
	}
	pairs := samplePairs(g, vs, 4000)
	answers, valid := runJSON(t, pairs, python, "-c", pythonCompare)
	compareWith(t, PEP440, pairs, answers, valid)
}

const nodeCompare = `
const semver = require(process.argv[1]);
let data = "";
process.stdin.on("data", d => data += d);
process.stdin.on("end", () => {
  const out = [];
  for (const [a, b] of JSON.parse(data)) {
    if (semver.valid(a) === null || semver.valid(b) === null) { out.push("E"); continue; }
    out.push(String(semver.compare(a, b)));
  }
  process.stdout.write(out.join("\n") + "\n");
});
`

func TestReferenceSemVer(t *testing.T) {
	node := need(t, "node")
	const mod = "/usr/lib/node_modules/npm/node_modules/semver"
	if _, err := os.Stat(mod); err != nil {
		t.Skip("npm's semver module is not installed")
	}
	g := newGen(4)
	var vs []string
	for range 200 {
		v := g.pick("0", "1", "2", "10") + "." + g.pick("0", "1", "10") + "." + g.pick("0", "1", "9", "10")
		if g.r.IntN(2) == 0 {
			v += "-" + g.pick("alpha", "beta", "rc", "0", "1", "10", "a1", "x-y")
			for range g.r.IntN(3) {
				v += "." + g.pick("alpha", "beta", "0", "1", "2", "10", "a1")
			}
		}
		v += g.pick("", "", "", "+b1", "+001", "+x.y")
		v = g.pick("", "", "", "", "v", "=") + v
		vs = append(vs, v)
	}
	vs = append(vs, "1.0", "01.0.0", "1.0.0-01", "1.0.0-", "1.0.0+", "1.0.0.0")
	pairs := samplePairs(g, vs, 3000)
	for _, bad := range []string{"1.0", "01.0.0", "1.0.0-01", "1.0.0-", "1.0.0+", "1.0.0.0"} {
		pairs = append(pairs, [2]string{bad, "1.0.0"})
	}
	answers, valid := runJSON(t, pairs, node, "-e", nodeCompare, mod)
	compareWith(t, SemVer, pairs, answers, valid)
}

var mavenLine = regexp.MustCompile(`^   (\S+) (<|>|==) (\S+)$`)

func TestReferenceMaven(t *testing.T) {
	java := need(t, "java")
	const jar = "/usr/share/maven/lib/maven-artifact-3.x.jar"
	if _, err := os.Stat(jar); err != nil {
		t.Skip("maven-artifact is not installed")
	}
	g := newGen(5)
	var vs []string
	for range 300 {
		v := g.pick("0", "1", "2", "10", "01", "a") +
			g.atoms(5, "0", "1", "2", "10", "01", ".", "-", "a", "b", "m", "alpha", "beta", "rc", "cr",
				"sp", "snapshot", "SNAPSHOT", "ga", "final", "release", "RELEASE", "foo", "x", "..", "--")
		vs = append(vs, v)
	}
	pairs := samplePairs(g, vs, 3000)
	// ComparableVersion's main compares each argument with the next one.
	args := []string{"-cp", jar, "org.apache.maven.artifact.versioning.ComparableVersion"}
	for _, p := range pairs {
		args = append(args, p[0], p[1])
	}
	out, err := exec.Command(java, args...).Output()
	if err != nil {
		t.Fatalf("java ComparableVersion: %v", err)
	}
	var answers []int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 0; sc.Scan(); {
		m := mavenLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if n%2 == 0 {
			answers = append(answers, map[string]int{"<": -1, "==": 0, ">": 1}[m[2]])
		}
		n++
	}
	compareWith(t, Maven, pairs, answers, nil)
}
