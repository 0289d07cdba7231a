package challenges

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// fieldPaths maps every field name of challenge.yaml to the paths where it
// is valid ("checks[].run.expect_user"), so a key written at the wrong
// level gets a "did you mean" naming the right place.
var fieldPaths = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type, path string, depth int)
	walk = func(t reflect.Type, path string, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			if t.Kind() == reflect.Slice {
				path += "[]"
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || depth > 6 || reflect.PointerTo(t).Implements(scalarDecoderType) {
			return
		}
		if t == reflect.TypeFor[Check]() {
			walk(reflect.TypeFor[checkBase](), path, depth+1)
			for _, cp := range checkParts {
				walk(reflect.TypeOf(cp.part), path, depth+1)
			}
			return
		}
		for _, f := range fields(t) {
			p := join(path, f.name)
			if !slices.Contains(out[f.name], p) {
				out[f.name] = append(out[f.name], p)
			}
			walk(t.FieldByIndex(f.index).Type, p, depth+1)
		}
	}
	walk(reflect.TypeFor[Spec](), "", 0)
	return out
})

var indexRe = regexp.MustCompile(`\[\d+\]`)

// elsewhere returns ` (did you mean X?)` when key is a field that belongs
// at another place: X is the path from path when it lies below it
// ("run.expect_user" at checks[2]), else the full path.
func elsewhere(path, key string) string {
	paths := fieldPaths()[key]
	if len(paths) == 0 {
		return ""
	}
	here := indexRe.ReplaceAllString(path, "[]")
	var out []string
	for _, p := range paths {
		if here != "" && p == here+"."+key {
			// Valid at this level for another check type.
			if types := checkTypesWith(key); len(types) > 0 {
				return fmt.Sprintf(" (a field of %s checks)", strings.Join(types, ", "))
			}
			continue
		}
		out = append(out, strings.TrimPrefix(p, here+"."))
	}
	if len(out) == 0 {
		return ""
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 3 {
		out = out[:3]
	}
	return fmt.Sprintf(" (did you mean %s? %s belongs there)", strings.Join(out, " or "), key)
}

// checkTypesWith lists the check types that have field key.
func checkTypesWith(key string) []string {
	var out []string
	for _, cp := range checkParts {
		for _, f := range fields(reflect.TypeOf(cp.part)) {
			if f.name == key {
				out = append(out, cp.typ)
			}
		}
	}
	return out
}
