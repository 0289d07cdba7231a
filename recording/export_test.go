package recording

// SetOpenFile replaces how recordings create their files (failure tests).
func (r *Recorder) SetOpenFile(f func(name string) (File, error)) {
	r.openFile = func(name string) (file, error) { return f(name) }
}

// File is the exported name of file for tests.
type File = file
