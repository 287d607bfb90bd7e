package registry

import (
	"fmt"
	"strings"
)

// Scheme starts a registry URI: registry://DIR/MODEL[@REF], where DIR is the
// registry directory (absolute with a third slash: registry:///srv/models/
// churn@production) and REF a version number, an alias or "latest" (the
// default).
const Scheme = "registry://"

// URI is a parsed registry URI.
type URI struct {
	Dir, Model, Ref string
}

func (u URI) String() string { return Scheme + u.Dir + "/" + u.Model + "@" + u.Ref }

// IsURI reports whether s is a registry URI rather than a path.
func IsURI(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseURI parses a registry URI.
func ParseURI(s string) (URI, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return URI{}, fmt.Errorf("%q is not a registry URI (%sDIR/MODEL[@REF]): %w", s, Scheme, ErrInvalid)
	}
	slash := strings.LastIndexByte(rest, '/')
	if slash <= 0 {
		return URI{}, fmt.Errorf("registry URI %q has no directory (%sDIR/MODEL[@REF]): %w", s, Scheme, ErrInvalid)
	}
	u := URI{Dir: rest[:slash], Model: rest[slash+1:], Ref: Latest}
	if at := strings.LastIndexByte(u.Model, '@'); at >= 0 {
		u.Model, u.Ref = u.Model[:at], u.Model[at+1:]
		if u.Ref == "" {
			return URI{}, fmt.Errorf("registry URI %q: empty reference after '@': %w", s, ErrInvalid)
		}
	}
	if !ValidName(u.Model) {
		return URI{}, fmt.Errorf("registry URI %q: model name %q: %w", s, u.Model, ErrInvalid)
	}
	return u, nil
}

// ResolveURI returns the file a registry URI names and its record; with
// verify, the file is hashed and must match its record (ErrDigest).
func ResolveURI(s string, verify bool) (string, *Record, error) {
	u, err := ParseURI(s)
	if err != nil {
		return "", nil, err
	}
	r, err := Open(u.Dir)
	if err != nil {
		return "", nil, err
	}
	rec, err := r.Resolve(u.Model, u.Ref)
	if err != nil {
		return "", nil, err
	}
	if verify {
		if err := r.Verify(rec); err != nil {
			return "", nil, err
		}
	}
	return r.Path(rec), rec, nil
}
