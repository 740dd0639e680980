package console

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// staticFiles serves the embedded assets: files only (a directory, its listing
// included, is 404), with X-Content-Type-Options: nosniff.
func staticFiles(files fs.FS) http.Handler {
	server := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if info, err := fs.Stat(files, name); name == "" || err != nil || info.IsDir() {
			http.NotFound(w, r)
			return
		}
		server.ServeHTTP(w, r)
	})
}
