package challenges

import (
	"path"
	"strings"

	"github.com/distribution/reference"
)

// LoadOptions are the operator's settings that validation depends on.
type LoadOptions struct {
	// AllowedImages are patterns (path.Match, against the image name with
	// its tag, e.g. "acme/lab:*") of sandbox images accepted besides the
	// ones opsdojo builds (opsdojo/<name>). The server never pulls: an
	// allowed image must also be present on the Docker host.
	AllowedImages []string
}

// IsOpsdojoImage reports whether ref names an image `opsdojo images build`
// makes from library/images: opsdojo/<name>[:tag], on no other
// registry, not by digest.
func IsOpsdojoImage(ref string) bool {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil || reference.Domain(named) != "docker.io" {
		return false
	}
	if _, digested := named.(reference.Digested); digested {
		return false
	}
	p := reference.Path(named)
	return strings.HasPrefix(p, "opsdojo/") && strings.Count(p, "/") == 1
}

// SandboxImageAllowed reports whether a challenge may name ref as its
// sandbox image: an opsdojo image or one matching an operator pattern.
func (o LoadOptions) SandboxImageAllowed(ref string) bool {
	if IsOpsdojoImage(ref) {
		return true
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return false
	}
	fam := reference.FamiliarString(reference.TagNameOnly(named))
	for _, pat := range o.AllowedImages {
		if ok, _ := path.Match(pat, fam); ok {
			return true
		}
		if ok, _ := path.Match(pat, ref); ok {
			return true
		}
	}
	return false
}

func (o LoadOptions) allowedImagesText() string {
	if len(o.AllowedImages) == 0 {
		return "none"
	}
	return strings.Join(o.AllowedImages, ", ")
}
