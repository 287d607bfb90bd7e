package format

import (
	"encoding/json"
	"os"
	"os/user"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mle-runtime/mle/core/errs"
)

// Lineage records where a model came from (METADATA "lineage"). It is
// descriptive: MLE checks its types, not its truth.
type Lineage struct {
	Parents   []Parent                   `json:"parents,omitempty"`
	Dataset   *Dataset                   `json:"dataset,omitempty"`
	GitCommit string                     `json:"git_commit,omitempty"`
	Author    string                     `json:"author,omitempty"`
	Params    map[string]json.RawMessage `json:"params,omitempty"` // training parameters: JSON scalars
}

// Parent is a model this one was derived from (fine-tuned, distilled, converted).
type Parent struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256,omitempty"` // of the parent's file
}

// Dataset is the training data.
type Dataset struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256,omitempty"`
	Rows   int64  `json:"rows,omitempty"`
}

// Policy is an access policy (METADATA "policy"): claims every MLE runtime
// checks at open. It binds only as far as the file is signed and the
// reader requires the signature (docs/security.md).
type Policy struct {
	NotBefore  string   `json:"not_before,omitempty"` // RFC 3339
	Expires    string   `json:"expires,omitempty"`    // RFC 3339
	Hosts      []string `json:"hosts,omitempty"`      // host names (case-insensitive)
	Users      []string `json:"users,omitempty"`      // user names of the opening process
	MinRuntime string   `json:"min_runtime,omitempty"`
}

var hexDigestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// parseLineage reads METADATA "lineage". Unknown keys are errors for a
// writer (it would drop them) and ignored by readers, as at the top level.
func parseLineage(v any, writer bool) (*Lineage, error) {
	o, ok := v.(jsonObject)
	if !ok {
		return nil, errs.New(errs.MetadataField, "metadata \"lineage\" must be an object")
	}
	if writer {
		if err := onlyKeys(o, "metadata lineage", "parents", "dataset", "git_commit", "author", "params"); err != nil {
			return nil, err
		}
	}
	l := &Lineage{}
	if err := stringFields(o, "metadata lineage", []stringField{{"git_commit", &l.GitCommit}, {"author", &l.Author}}); err != nil {
		return nil, err
	}
	if pv, ok := o.get("parents"); ok {
		list, ok := pv.([]any)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata lineage \"parents\" must be an array")
		}
		for i, e := range list {
			po, ok := e.(jsonObject)
			if !ok {
				return nil, errs.New(errs.MetadataField, "metadata lineage parents[%d] must be an object", i)
			}
			if writer {
				if err := onlyKeys(po, "metadata lineage parent", "name", "version", "sha256"); err != nil {
					return nil, err
				}
			}
			var p Parent
			if err := stringFields(po, "metadata lineage parent", []stringField{{"name", &p.Name}, {"version", &p.Version}, {"sha256", &p.SHA256}}); err != nil {
				return nil, err
			}
			if p.Name == "" {
				return nil, errs.New(errs.MetadataField, "metadata lineage parents[%d] needs a \"name\"", i)
			}
			if p.SHA256 != "" && !hexDigestRE.MatchString(p.SHA256) {
				return nil, errs.New(errs.MetadataField, "metadata lineage parents[%d] sha256 must be 64 lowercase hex digits", i)
			}
			l.Parents = append(l.Parents, p)
		}
	}
	if dv, ok := o.get("dataset"); ok {
		do, ok := dv.(jsonObject)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata lineage \"dataset\" must be an object")
		}
		if writer {
			if err := onlyKeys(do, "metadata lineage dataset", "name", "sha256", "rows"); err != nil {
				return nil, err
			}
		}
		d := &Dataset{}
		if err := stringFields(do, "metadata lineage dataset", []stringField{{"name", &d.Name}, {"sha256", &d.SHA256}}); err != nil {
			return nil, err
		}
		if d.SHA256 != "" && !hexDigestRE.MatchString(d.SHA256) {
			return nil, errs.New(errs.MetadataField, "metadata lineage dataset sha256 must be 64 lowercase hex digits")
		}
		if rv, ok := do.get("rows"); ok {
			n, ok := rv.(json.Number)
			rows, err := n.Int64()
			if !ok || err != nil || rows < 0 {
				return nil, errs.New(errs.MetadataField, "metadata lineage dataset \"rows\" must be an integer >= 0")
			}
			d.Rows = rows
		}
		l.Dataset = d
	}
	if pv, ok := o.get("params"); ok {
		po, ok := pv.(jsonObject)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata lineage \"params\" must be an object")
		}
		l.Params = make(map[string]json.RawMessage, len(po))
		for _, m := range po {
			var raw []byte
			switch x := m.val.(type) {
			case string:
				raw, _ = json.Marshal(x)
			case json.Number:
				raw = []byte(x.String())
			case bool:
				raw = []byte(strconv.FormatBool(x))
			case nil:
				raw = []byte("null")
			default:
				return nil, errs.New(errs.MetadataField, "metadata lineage param %q must be a string, number, boolean or null", m.key)
			}
			l.Params[m.key] = raw
		}
	}
	return l, nil
}

// policyClaims are the claims this runtime enforces. A policy naming any
// other claim is refused: a reader that skipped a claim it did not know
// would grant what the policy denies.
var policyClaims = []string{"not_before", "expires", "hosts", "users", "min_runtime"}

func parsePolicy(v any) (*Policy, error) {
	o, ok := v.(jsonObject)
	if !ok {
		return nil, errs.New(errs.MetadataPolicy, "metadata \"policy\" must be an object")
	}
	for _, m := range o {
		if !slices.Contains(policyClaims, m.key) {
			return nil, errs.New(errs.MetadataPolicy, "policy claim %q is not one this runtime (libmle %s) knows (%s): refusing rather than ignoring it",
				m.key, LibraryVersion, strings.Join(policyClaims, ", "))
		}
	}
	p := &Policy{}
	if err := stringFields(o, "policy", []stringField{{"not_before", &p.NotBefore}, {"expires", &p.Expires}, {"min_runtime", &p.MinRuntime}}); err != nil {
		return nil, errs.New(errs.MetadataPolicy, "%s", errs.Message(err))
	}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{"hosts", &p.Hosts}, {"users", &p.Users}} {
		lv, ok := o.get(l.key)
		if !ok {
			continue
		}
		list, ok := lv.([]any)
		if !ok || len(list) == 0 {
			return nil, errs.New(errs.MetadataPolicy, "policy %q must be a non-empty array of strings", l.key)
		}
		for _, e := range list {
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, errs.New(errs.MetadataPolicy, "policy %q must be a non-empty array of strings", l.key)
			}
			*l.dst = append(*l.dst, s)
		}
	}
	return p, p.validate()
}

func (p *Policy) validate() error {
	for _, t := range []struct{ key, v string }{{"not_before", p.NotBefore}, {"expires", p.Expires}} {
		if t.v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return errs.New(errs.MetadataPolicy, "policy %q is %q, not an RFC 3339 time", t.key, t.v)
		}
	}
	if p.MinRuntime != "" && !semverRE.MatchString(p.MinRuntime) {
		return errs.New(errs.MetadataPolicy, "policy \"min_runtime\" is %q, not a semantic version", p.MinRuntime)
	}
	return nil
}

// PolicyContext is what a policy is checked against.
type PolicyContext struct {
	Now     time.Time
	Host    string
	User    string
	Runtime string // this library's version
}

// CurrentPolicyContext describes this process: the clock, os.Hostname and
// the user the process runs as.
func CurrentPolicyContext() PolicyContext {
	c := PolicyContext{Now: time.Now(), Runtime: LibraryVersion}
	c.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		c.User = u.Username
	}
	return c
}

// Check returns errs.Policy with the reason when c does not satisfy p.
func (p *Policy) Check(c PolicyContext) error {
	if p == nil {
		return nil
	}
	if p.NotBefore != "" {
		t, _ := time.Parse(time.RFC3339, p.NotBefore)
		if c.Now.Before(t) {
			return errs.New(errs.Policy, "access policy: the model may not be used before %s (now %s)", p.NotBefore, c.Now.UTC().Format(time.RFC3339))
		}
	}
	if p.Expires != "" {
		t, _ := time.Parse(time.RFC3339, p.Expires)
		if !c.Now.Before(t) {
			return errs.New(errs.Policy, "access policy: the model expired at %s (now %s)", p.Expires, c.Now.UTC().Format(time.RFC3339))
		}
	}
	if len(p.Hosts) > 0 && !slices.ContainsFunc(p.Hosts, func(h string) bool { return strings.EqualFold(h, c.Host) }) {
		return errs.New(errs.Policy, "access policy: host %q is not among the allowed hosts %q", c.Host, p.Hosts)
	}
	if len(p.Users) > 0 && !slices.Contains(p.Users, c.User) {
		return errs.New(errs.Policy, "access policy: user %q is not among the allowed users %q", c.User, p.Users)
	}
	if p.MinRuntime != "" && compareSemver(c.Runtime, p.MinRuntime) < 0 {
		return errs.New(errs.Policy, "access policy: the model needs MLE runtime %s or newer; this is %s", p.MinRuntime, c.Runtime)
	}
	return nil
}

// compareSemver orders two semantic versions by major.minor.patch, then a
// release above any pre-release of it (pre-releases compared as strings:
// enough for a minimum-version claim).
func compareSemver(a, b string) int {
	pa, pb := semverRE.FindStringSubmatch(a), semverRE.FindStringSubmatch(b)
	if pa == nil || pb == nil {
		return strings.Compare(a, b)
	}
	for i := 1; i <= 3; i++ {
		x, _ := strconv.ParseUint(pa[i], 10, 64)
		y, _ := strconv.ParseUint(pb[i], 10, 64)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case pa[4] == pb[4]:
		return 0
	case pa[4] == "":
		return 1
	case pb[4] == "":
		return -1
	}
	return strings.Compare(pa[4], pb[4])
}
