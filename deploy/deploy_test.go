// Package deploy holds the container image recipe and the Kubernetes
// manifests of attn serve; its test checks them offline against the
// schema rules a cluster would enforce and against each other.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// manifest is the part of a Kubernetes object the checks read.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec yaml.Node `yaml:"spec"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type deploymentSpec struct {
	Replicas int `yaml:"replicas"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			SecurityContext struct {
				RunAsNonRoot bool `yaml:"runAsNonRoot"`
			} `yaml:"securityContext"`
			Containers []struct {
				Name  string   `yaml:"name"`
				Image string   `yaml:"image"`
				Args  []string `yaml:"args"`
				Ports []struct {
					Name          string `yaml:"name"`
					ContainerPort int    `yaml:"containerPort"`
				} `yaml:"ports"`
				ReadinessProbe  probe                                        `yaml:"readinessProbe"`
				LivenessProbe   probe                                        `yaml:"livenessProbe"`
				Resources       struct{ Requests, Limits map[string]string } `yaml:"resources"`
				SecurityContext struct {
					ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
					AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
				} `yaml:"securityContext"`
				VolumeMounts []struct {
					Name     string `yaml:"name"`
					ReadOnly bool   `yaml:"readOnly"`
				} `yaml:"volumeMounts"`
			} `yaml:"containers"`
			Volumes []struct {
				Name string `yaml:"name"`
			} `yaml:"volumes"`
		} `yaml:"spec"`
	} `yaml:"template"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Port       int    `yaml:"port"`
		TargetPort string `yaml:"targetPort"`
	} `yaml:"ports"`
}

type hpaSpec struct {
	ScaleTargetRef struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Name       string `yaml:"name"`
	} `yaml:"scaleTargetRef"`
	MinReplicas int `yaml:"minReplicas"`
	MaxReplicas int `yaml:"maxReplicas"`
	Metrics     []struct {
		Type     string `yaml:"type"`
		Resource struct {
			Name   string `yaml:"name"`
			Target struct {
				Type               string `yaml:"type"`
				AverageUtilization int    `yaml:"averageUtilization"`
			} `yaml:"target"`
		} `yaml:"resource"`
	} `yaml:"metrics"`
}

// known are the kinds the manifests may hold, with their API versions.
var known = map[string]string{"Deployment": "apps/v1", "Service": "v1", "HorizontalPodAutoscaler": "autoscaling/v2"}

// dns1123 is a Kubernetes object name.
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func load(t *testing.T) map[string]manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/ (%v)", err)
	}
	out := map[string]manifest{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		for {
			var m manifest
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if want, ok := known[m.Kind]; !ok || m.APIVersion != want {
				t.Fatalf("%s: kind %q apiVersion %q: want one of %v", f, m.Kind, m.APIVersion, known)
			}
			if !dns1123.MatchString(m.Metadata.Name) {
				t.Fatalf("%s: %s name %q is not a DNS-1123 label", f, m.Kind, m.Metadata.Name)
			}
			if _, dup := out[m.Kind]; dup {
				t.Fatalf("%s: a second %s", f, m.Kind)
			}
			out[m.Kind] = m
		}
	}
	return out
}

func spec[T any](t *testing.T, m manifest) T {
	t.Helper()
	var s T
	if err := m.Spec.Decode(&s); err != nil {
		t.Fatalf("%s spec: %v", m.Kind, err)
	}
	return s
}

// TestManifests checks the Deployment, Service and HorizontalPodAutoscaler
// against the rules the API server and the kubelet apply, and against each
// other: labels that select, ports that exist, probes on attn serve's
// /health, a non-root read-only container with resource requests, the
// weights mounted read-only, an autoscaler aimed at the Deployment.
func TestManifests(t *testing.T) {
	ms := load(t)
	for k := range known {
		if _, ok := ms[k]; !ok {
			t.Fatalf("no %s among the manifests", k)
		}
	}
	d := spec[deploymentSpec](t, ms["Deployment"])
	labels := d.Template.Metadata.Labels
	if len(d.Selector.MatchLabels) == 0 {
		t.Error("Deployment: empty selector")
	}
	for k, v := range d.Selector.MatchLabels {
		if labels[k] != v {
			t.Errorf("Deployment: selector %s=%s does not match the pod template's labels %v", k, v, labels)
		}
	}
	if d.Replicas < 1 || !d.Template.Spec.SecurityContext.RunAsNonRoot {
		t.Errorf("Deployment: replicas %d, runAsNonRoot %v", d.Replicas, d.Template.Spec.SecurityContext.RunAsNonRoot)
	}
	if len(d.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment: %d containers, want 1", len(d.Template.Spec.Containers))
	}
	c := d.Template.Spec.Containers[0]
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" || c.Image == "" {
		t.Errorf("container: image %q args %v, want attn serve", c.Image, c.Args)
	}
	if i := slices.Index(c.Args, "--addr"); i < 0 || i+1 >= len(c.Args) || !strings.HasPrefix(c.Args[i+1], "0.0.0.0:") ||
		!slices.Contains(mapValues(ports), atoi(strings.TrimPrefix(c.Args[i+1], "0.0.0.0:"))) {
		t.Errorf("container: --addr in %v must bind 0.0.0.0 on a declared container port %v", c.Args, ports)
	}
	for name, p := range map[string]probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p.HTTPGet == nil || p.HTTPGet.Path != "/health" {
			t.Errorf("%s probe: want httpGet /health (503 while loading or draining)", name)
		} else if _, ok := ports[p.HTTPGet.Port]; !ok {
			t.Errorf("%s probe: port %q is not a container port %v", name, p.HTTPGet.Port, ports)
		}
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("container: resources %+v need cpu and memory requests and a memory limit", c.Resources)
	}
	if !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("container: want a read-only root filesystem and no privilege escalation")
	}
	vols := map[string]bool{}
	for _, v := range d.Template.Spec.Volumes {
		vols[v.Name] = true
	}
	if len(c.VolumeMounts) == 0 {
		t.Error("container: no weights volume")
	}
	for _, vm := range c.VolumeMounts {
		if !vols[vm.Name] || !vm.ReadOnly {
			t.Errorf("volume mount %q: must name a pod volume and be read-only", vm.Name)
		}
	}

	s := spec[serviceSpec](t, ms["Service"])
	for k, v := range s.Selector {
		if labels[k] != v {
			t.Errorf("Service: selector %s=%s selects no pod of the Deployment", k, v)
		}
	}
	for _, p := range s.Ports {
		if _, ok := ports[p.TargetPort]; !ok || p.Port < 1 || p.Port > 65535 {
			t.Errorf("Service: port %d → %q: the target is not a container port %v", p.Port, p.TargetPort, ports)
		}
	}

	h := spec[hpaSpec](t, ms["HorizontalPodAutoscaler"])
	ref := h.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.Name != ms["Deployment"].Metadata.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA: scaleTargetRef %+v does not name the Deployment", ref)
	}
	if h.MinReplicas < 1 || h.MaxReplicas < h.MinReplicas || len(h.Metrics) == 0 {
		t.Errorf("HPA: replicas %d…%d, %d metrics", h.MinReplicas, h.MaxReplicas, len(h.Metrics))
	}
	for _, m := range h.Metrics {
		u := m.Resource.Target.AverageUtilization
		if m.Type != "Resource" || m.Resource.Name != "cpu" || m.Resource.Target.Type != "Utilization" || u < 1 || u > 100 {
			t.Errorf("HPA: metric %+v: want CPU utilization in (0, 100]", m)
		}
	}
}

// TestDockerfile checks the image recipe: a build stage without cgo, a
// non-root final stage, and an entrypoint serving on the exposed port.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, users, exposes []string
	var entry string
	cgoOff := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, strings.Join(f[1:], " "))
		case "USER":
			users = append(users, f[1])
		case "EXPOSE":
			exposes = append(exposes, f[1:]...)
		case "ENTRYPOINT":
			entry = strings.Join(f[1:], " ")
		case "RUN":
			cgoOff = cgoOff || strings.Contains(line, "CGO_ENABLED=0")
		}
	}
	if len(froms) < 2 || !strings.Contains(froms[0], " AS ") {
		t.Errorf("FROM lines %v: want a named build stage and a final stage", froms)
	}
	if !cgoOff {
		t.Error("the build must set CGO_ENABLED=0 (a static binary)")
	}
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "root") || users[len(users)-1] == "0" {
		t.Errorf("USER %v: the final stage must not run as root", users)
	}
	if !strings.Contains(entry, `"serve"`) || !strings.Contains(entry, `"--addr"`) {
		t.Errorf("ENTRYPOINT %s: want attn serve with --addr", entry)
	}
	for _, p := range exposes {
		if !strings.Contains(entry, "0.0.0.0:"+p) {
			t.Errorf("EXPOSE %s: the entrypoint does not listen there (%s)", p, entry)
		}
	}
}

func mapValues(m map[string]int) []int {
	var v []int
	for _, x := range m {
		v = append(v, x)
	}
	return v
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return -1
		}
		n = n*10 + int(r-'0')
	}
	return n
}
