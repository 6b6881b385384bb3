// helmrender renders a Helm chart the way `helm template` does, for the subset of Helm the shadowmeter
// chart uses: Values (values.yaml deep-merged with -f files), Release, Chart, Files.Get, define/include,
// tpl, toYaml, fromYaml, required, fail and the sprig functions. Debian 12 ships no helm binary, but it
// ships Go, text/template, sprig and yaml.v3, which are what helm itself renders with.
//
// Build in GOPATH mode against Debian's packages:
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o helmrender ./packaging/render/helmrender
// Usage:
//   helmrender -chart DIR -release NAME -namespace NS [-f values.yaml ...] -out DIR
// writes one file per template that renders to something, named after the template.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// files gives templates read access to the chart's own files, as Helm's .Files does.
type files struct{ root string }

func (f files) Get(name string) string {
	clean := filepath.Clean("/" + name) // no escaping the chart directory
	b, err := os.ReadFile(filepath.Join(f.root, clean))
	if err != nil {
		return ""
	}
	return string(b)
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// merge copies src over dst: maps merge key by key, anything else replaces (Helm's coalescing rule
// for user values over chart defaults; a null in src deletes the key, as in Helm).
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := sv.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			dst[k] = merge(dm, sm)
		} else {
			dst[k] = sv
		}
	}
	return dst
}

// toYAML renders like Helm's toYaml: two-space indent, sorted keys, no trailing newline.
func toYAML(v interface{}) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func fromYAML(s string) map[string]interface{} {
	out := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &out); err != nil {
		out["Error"] = err.Error()
	}
	return out
}

func render(chartDir, release, namespace string, valuePaths []string, outDir string) error {
	chart, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, p := range valuePaths {
		extra, err := readYAMLMap(p)
		if err != nil {
			return err
		}
		values = merge(values, extra)
	}
	// Helm exposes Chart fields capitalised (.Chart.Name, .Chart.AppVersion).
	chartObj := map[string]interface{}{}
	for k, v := range chart {
		chartObj[strings.ToUpper(k[:1])+k[1:]] = v
	}
	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chartObj,
		"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Files":   files{root: chartDir},
	}

	tmpl := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := tmpl.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := tmpl.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	tmpl.Funcs(funcs)

	chartName := fmt.Sprint(chart["name"])
	basePath := chartName + "/templates"
	top["Template"] = map[string]interface{}{"BasePath": basePath}

	names, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	var docs []string
	for _, path := range names {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name := basePath + "/" + filepath.Base(path)
		if _, err := tmpl.New(name).Parse(string(b)); err != nil {
			return err
		}
		if strings.HasSuffix(name, ".yaml") && !strings.HasPrefix(filepath.Base(path), "_") {
			docs = append(docs, name)
		}
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, name := range docs {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, top); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		var out strings.Builder
		for _, doc := range strings.Split(text, "\n---") {
			doc = strings.TrimSpace(strings.TrimPrefix(doc, "---"))
			if doc == "" {
				continue
			}
			var check interface{}
			if err := yaml.Unmarshal([]byte(doc), &check); err != nil {
				return fmt.Errorf("%s renders to YAML that does not parse: %w\n%s", name, err, doc)
			}
			if check == nil {
				continue // only comments
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, doc)
		}
		if out.Len() == 0 {
			continue
		}
		if err := os.WriteFile(filepath.Join(outDir, filepath.Base(name)), []byte(out.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "shadowmeter", "release name")
	namespace := flag.String("namespace", "shadowmeter", "release namespace")
	outDir := flag.String("out", "", "output directory")
	var vf valueFiles
	flag.Var(&vf, "f", "values file (repeatable; later files win)")
	flag.Parse()
	if *chartDir == "" || *outDir == "" {
		fmt.Fprintln(os.Stderr, "usage: helmrender -chart DIR -out DIR [-release NAME] [-namespace NS] [-f values.yaml ...]")
		os.Exit(2)
	}
	if err := render(*chartDir, *release, *namespace, vf, *outDir); err != nil {
		fmt.Fprintln(os.Stderr, "helmrender:", err)
		os.Exit(1)
	}
}
