package main

// kstatus as Flux's health checks and cli-utils' waiters compute it: status.Compute over the object exactly
// as the API server returned it, with no configuration for the kind.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// kstatusLine is one line of output: which object, and kstatus's Status and Message for it.
type kstatusLine struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

// readObjects accepts a JSON array of objects or a Kubernetes List ({"items": [...]}). Integers decode as
// int64, as unstructured objects from a client hold them (kstatus refuses float64 generations).
func readObjects(data []byte) ([]map[string]any, error) {
	var array []any
	if err := utiljson.Unmarshal(data, &array); err != nil {
		var list map[string]any
		if err := utiljson.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("stdin is neither a JSON array of objects nor a List: %w", err)
		}
		items, ok := list["items"].([]any)
		if !ok {
			return nil, errors.New("stdin is a JSON object without an items list")
		}
		array = items
	}
	objects := make([]map[string]any, 0, len(array))
	for i, item := range array {
		object, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d is a %T, not an object", i, item)
		}
		objects = append(objects, object)
	}
	return objects, nil
}

// runKstatus prints one JSON line per object on stdin, in input order.
func runKstatus(stdin io.Reader, stdout, stderr io.Writer) int {
	data, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-check: reading stdin: %v\n", err)
		return 1
	}
	objects, err := readObjects(data)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-check: %v\n", err)
		return 1
	}
	encoder := json.NewEncoder(stdout)
	for i, object := range objects {
		u := &unstructured.Unstructured{Object: object}
		result, err := status.Compute(u)
		if err != nil {
			fmt.Fprintf(stderr, "gitops-check: object %d (%s %s/%s): %v\n", i, u.GetKind(), u.GetNamespace(), u.GetName(), err)
			return 1
		}
		line := kstatusLine{
			Kind:      u.GetKind(),
			Namespace: u.GetNamespace(),
			Name:      u.GetName(),
			Status:    result.Status.String(),
			Message:   result.Message,
		}
		if err := encoder.Encode(line); err != nil {
			fmt.Fprintf(stderr, "gitops-check: %v\n", err)
			return 1
		}
	}
	return 0
}
