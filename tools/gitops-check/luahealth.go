package main

// Runs Argo CD health scripts the way Argo CD's application controller does (util/lua in argo-cd), so a
// script that passes here behaves the same there:
//   - a fresh gopher-lua state per evaluation, without the standard libraries except base, package and
//     table (Argo CD opens the same three, plus a reduced os library that these scripts do not use; the
//     string, math and io libraries are absent unless an admin sets useOpenLibs, so a script must not
//     need them);
//   - the object as the global `obj`: maps become tables keyed by field name, lists become sequences,
//     every number becomes a Lua number;
//   - a one-second budget per evaluation;
//   - the script's return value must be a table; its `status` must be one of Argo CD's health codes
//     (anything else reads as Unknown, "Lua returned an invalid health status"); nil or an empty table
//     means no opinion.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// HealthStatus is what a health script returns, as Argo CD's health.HealthStatus reads it.
type HealthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// healthCodes are the statuses Argo CD accepts from a script.
var healthCodes = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

const scriptBudget = time.Second

// evaluate runs script with object as `obj` and returns the health it reports.
func evaluate(script string, object map[string]any) (HealthStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return HealthStatus{}, fmt.Errorf("opening the Lua %s library: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptBudget)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, object))
	if err := l.DoString(script); err != nil {
		return HealthStatus{}, fmt.Errorf("running the health script: %w", err)
	}
	switch returned := l.Get(-1).(type) {
	case *lua.LTable:
		if key, _ := returned.Next(lua.LNil); key == lua.LNil {
			// Argo CD decodes an empty table as an empty health (no opinion), not as an invalid one.
			return HealthStatus{}, nil
		}
		health := HealthStatus{Status: stringField(returned, "status"), Message: stringField(returned, "message")}
		if !healthCodes[health.Status] {
			return HealthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
		}
		return health, nil
	case *lua.LNilType:
		return HealthStatus{}, nil
	default:
		return HealthStatus{}, fmt.Errorf("the health script returned a %s, not a table", returned.Type())
	}
}

func stringField(t *lua.LTable, key string) string {
	if s, ok := t.RawGetString(key).(lua.LString); ok {
		return string(s)
	}
	return ""
}

// toLua converts a decoded JSON/YAML value (or an unstructured object's, whose integers are int64).
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case json.Number:
		// Argo CD passes json.Number through as a string; decoding here never produces one.
		return lua.LString(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for key, item := range v {
			t.RawSetString(key, toLua(l, item))
		}
		return t
	default:
		panic(fmt.Sprintf("toLua: unexpected %T", value))
	}
}

// readObject decodes one Kubernetes object from JSON or YAML.
func readObject(data []byte) (map[string]any, error) {
	var object map[string]any
	if err := yaml.Unmarshal(data, &object); err != nil {
		return nil, err
	}
	if object == nil {
		return nil, errors.New("no object in the input")
	}
	return object, nil
}

// healthTests is Argo CD's health_test.yaml: the expected health of each object under testdata/.
type healthTests struct {
	Tests []struct {
		HealthStatus HealthStatus `json:"healthStatus"`
		InputPath    string       `json:"inputPath"`
	} `json:"tests"`
}

// runFixtures runs every health.lua under root against the health_test.yaml beside it. A health.lua
// without a health_test.yaml, or with no case, is a failure: every check must be exercised.
func runFixtures(root string, stdout, stderr io.Writer) int {
	var scripts []string
	err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !entry.IsDir() && entry.Name() == "health.lua" {
			scripts = append(scripts, path)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(stderr, "gitops-check: %v\n", err)
		return 1
	}
	if len(scripts) == 0 {
		fmt.Fprintf(stderr, "gitops-check: no health.lua under %s\n", root)
		return 1
	}
	sort.Strings(scripts)
	passed, failed := 0, 0
	for _, scriptPath := range scripts {
		dir := filepath.Dir(scriptPath)
		name, _ := filepath.Rel(root, dir)
		p, f := runScriptFixtures(dir, name, stdout)
		passed += p
		failed += f
	}
	fmt.Fprintf(stdout, "lua-health: %d cases matched, %d did not, in %d scripts\n", passed, failed, len(scripts))
	if failed > 0 {
		return 1
	}
	return 0
}

// runScriptFixtures prints one line per case of dir/health_test.yaml and returns (matched, not matched);
// a broken health_test.yaml or script counts as one case that did not match.
func runScriptFixtures(dir, name string, out io.Writer) (int, int) {
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		fmt.Fprintf(out, "FAIL %s: %v\n", name, err)
		return 0, 1
	}
	raw, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if err != nil {
		fmt.Fprintf(out, "FAIL %s: every health.lua needs a health_test.yaml beside it: %v\n", name, err)
		return 0, 1
	}
	var tests healthTests
	if err := yaml.UnmarshalStrict(raw, &tests); err != nil {
		fmt.Fprintf(out, "FAIL %s/health_test.yaml: %v\n", name, err)
		return 0, 1
	}
	if len(tests.Tests) == 0 {
		fmt.Fprintf(out, "FAIL %s/health_test.yaml: no test cases\n", name)
		return 0, 1
	}
	passed, failed := 0, 0
	for _, tc := range tests.Tests {
		label := fmt.Sprintf("%s %s", name, tc.InputPath)
		got, err := evaluateFile(string(script), filepath.Join(dir, tc.InputPath))
		switch {
		case err != nil:
			fmt.Fprintf(out, "FAIL %s: %v\n", label, err)
			failed++
		case got != tc.HealthStatus:
			fmt.Fprintf(out, "FAIL %s: want %s %q, got %s %q\n",
				label, tc.HealthStatus.Status, tc.HealthStatus.Message, got.Status, got.Message)
			failed++
		default:
			fmt.Fprintf(out, "ok   %s: %s %q\n", label, got.Status, got.Message)
			passed++
		}
	}
	return passed, failed
}

func evaluateFile(script, objectPath string) (HealthStatus, error) {
	data, err := os.ReadFile(objectPath)
	if err != nil {
		return HealthStatus{}, err
	}
	object, err := readObject(data)
	if err != nil {
		return HealthStatus{}, fmt.Errorf("%s: %w", objectPath, err)
	}
	return evaluate(script, object)
}

// runObject prints the health scriptPath reports for the one object on stdin.
func runObject(scriptPath string, stdin io.Reader, stdout, stderr io.Writer) int {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-check: %v\n", err)
		return 1
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-check: reading stdin: %v\n", err)
		return 1
	}
	object, err := readObject(data)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-check: stdin: %v\n", err)
		return 1
	}
	health, err := evaluate(string(script), object)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-check: %s: %v\n", scriptPath, err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(health); err != nil {
		fmt.Fprintf(stderr, "gitops-check: %v\n", err)
		return 1
	}
	return 0
}
