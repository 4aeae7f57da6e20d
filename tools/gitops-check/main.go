// Command gitops-check answers, for the tests, the two questions a GitOps tool asks of apprunner-net's
// objects: what Argo CD's health check (deploy/argocd/<group>/<Kind>/health.lua) says, and what kstatus
// (sigs.k8s.io/cli-utils/pkg/kstatus, which Flux and cli-utils waiters use) says.
//
//	gitops-check lua-health DIR             run every health_test.yaml under DIR (Argo CD's fixture format)
//	gitops-check lua-health-object SCRIPT   health of one object (JSON or YAML on stdin) by one health.lua
//	gitops-check kstatus                    kstatus of each object of a JSON list on stdin
//
// Exit status: 0 success; 1 a fixture did not match or an input or script failed; 2 wrong usage.
// Results go to stdout, diagnostics to stderr.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  gitops-check lua-health DIR
      Runs every health.lua under DIR against the cases of the health_test.yaml beside it
      (tests: [{healthStatus: {status, message}, inputPath}]); prints one line per case.
  gitops-check lua-health-object SCRIPT
      Reads one object (JSON or YAML) on stdin and prints {"status","message"} as SCRIPT returns it.
  gitops-check kstatus
      Reads a JSON array of objects (or a List with items) on stdin and prints, one JSON line per
      object, {"kind","namespace","name","status","message"} as kstatus computes them.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "lua-health" && len(rest) == 1:
		return runFixtures(rest[0], stdout, stderr)
	case cmd == "lua-health-object" && len(rest) == 1:
		return runObject(rest[0], stdin, stdout, stderr)
	case cmd == "kstatus" && len(rest) == 0:
		return runKstatus(stdin, stdout, stderr)
	case cmd == "-h" || cmd == "--help" || cmd == "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gitops-check: unknown command or wrong arguments: %q\n%s", args, usage)
		return 2
	}
}
