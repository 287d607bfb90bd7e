package main

/*
#include <stdlib.h>
#include "mle.h"
#include "internal.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/registry"
)

// maxRegistryRequest bounds a registry request's JSON.
const maxRegistryRequest = 1 << 20

// registryRequest is mle_registry's request: a verb and its arguments.
type registryRequest struct {
	Dir     string `json:"dir"`
	Verb    string `json:"verb"`
	File    string `json:"file"`
	Model   string `json:"model"`
	Version int64  `json:"version"`
	Alias   string `json:"alias"`
	Ref     string `json:"ref"`
	Ref2    string `json:"ref2"`
	Reason  string `json:"reason"`
	Keep    int    `json:"keep"`
	DryRun  bool   `json:"dry_run"`
	URI     string `json:"uri"`
	Verify  bool   `json:"verify"`
	Key     []byte `json:"key"` // base64 in JSON
}

//export mlego_registry
func mlego_registry(request *C.char, response **C.char, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	if response == nil {
		return failf(cerr, errs.InvalidNull, "mle_registry: response must not be NULL")
	}
	*response = nil
	js, err := needString(request, "request")
	if err != nil {
		return fail(cerr, err)
	}
	if len(js) > maxRegistryRequest {
		return failf(cerr, errs.InvalidValue, "mle_registry: the request is %d bytes; at most %d", len(js), maxRegistryRequest)
	}
	var req registryRequest
	d := json.NewDecoder(bytes.NewReader([]byte(js)))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		return failf(cerr, errs.InvalidValue, "mle_registry: the request does not decode: %v", err)
	}
	out, err := registryCall(&req)
	if err != nil {
		return fail(cerr, registry.Coded(err))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fail(cerr, err)
	}
	*response = C.CString(string(b))
	return C.MLE_OK
}

// registryCall runs one verb and returns its JSON-able result.
func registryCall(req *registryRequest) (any, error) {
	if req.Verb == "resolve" {
		path, rec, err := registry.ResolveURI(req.URI, req.Verify)
		if err != nil {
			return nil, err
		}
		return map[string]any{"path": path, "record": rec}, nil
	}
	if req.Dir == "" {
		return nil, errs.New(errs.InvalidValue, "mle_registry: %q needs \"dir\"", req.Verb)
	}
	open := registry.Open
	if req.Verb == "register" {
		open = registry.Init
	}
	r, err := open(req.Dir)
	if err != nil {
		return nil, err
	}
	switch req.Verb {
	case "register":
		rec, err := r.Register(req.File, req.Model, registry.RegisterOptions{Version: req.Version, Alias: req.Alias, Key: req.Key})
		return map[string]any{"record": rec, "path": pathOf(r, rec)}, err
	case "list":
		models, err := r.List()
		if models == nil {
			models = []registry.Model{}
		}
		return map[string]any{"models": models}, err
	case "show":
		rec, err := r.Resolve(req.Model, req.Ref)
		return map[string]any{"record": rec, "path": pathOf(r, rec)}, err
	case "compare":
		a, err := r.Resolve(req.Model, req.Ref)
		if err != nil {
			return nil, err
		}
		b, err := r.Resolve(req.Model, req.Ref2)
		if err != nil {
			return nil, err
		}
		diffs := registry.Compare(a, b)
		if diffs == nil {
			diffs = []registry.Difference{}
		}
		return map[string]any{"a": a, "b": b, "differences": diffs}, nil
	case "alias":
		return map[string]any{}, r.SetAlias(req.Model, req.Alias, req.Version)
	case "unalias":
		return map[string]any{}, r.RemoveAlias(req.Model, req.Alias)
	case "deprecate":
		return map[string]any{}, r.Deprecate(req.Model, req.Version, req.Reason)
	case "gc":
		gone, err := r.GC(registry.GCOptions{KeepLatest: req.Keep, DryRun: req.DryRun})
		if gone == nil {
			gone = []*registry.Record{}
		}
		return map[string]any{"removed": gone}, err
	}
	return nil, errs.New(errs.InvalidValue, "mle_registry: unknown verb %q (register, list, show, compare, alias, unalias, deprecate, gc, resolve)", req.Verb)
}

func pathOf(r *registry.Registry, rec *registry.Record) string {
	if rec == nil {
		return ""
	}
	return r.Path(rec)
}
