// Benchmark driver for moby/ipvs (the Go library Docker and kube-proxy's
// ipvs mode use), built by scripts/bench from Debian's
// golang-github-docker-docker-dev at run time; its source is not part of this
// repository. It runs inside the benchmark's network namespace and prints one
// line "RESULT {json}" with its own timing of the workload; see
// examples/src/bench.rs for the workloads (the Rust, Python and Go drivers
// implement the same command line and the same address plan).
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/ipvs"
)

func svcAddr(i int) net.IP {
	v := uint32(0x0a000000) + uint32(i) + 1 // 10.0.0.1 + i
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4()
}

func dstAddr(j int) net.IP {
	v := uint32(0xac100000) + uint32(j) + 1 // 172.16.0.1 + j
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4()
}

func service(i int) *ipvs.Service {
	return &ipvs.Service{
		Address: svcAddr(i), Protocol: syscall.IPPROTO_TCP, Port: 80,
		SchedName: ipvs.WeightedLeastConnection, AddressFamily: syscall.AF_INET,
		Netmask: 0xffffffff,
	}
}

func dest(j int, weight int) *ipvs.Destination {
	return &ipvs.Destination{
		Address: dstAddr(j), Port: 8080, Weight: weight,
		ConnectionFlags: ipvs.ConnectionFlagMasq, AddressFamily: syscall.AF_INET,
	}
}

// wanted is one service of a reconcile's desired state, with its destinations.
type wanted struct {
	svc   *ipvs.Service
	dests []*ipvs.Destination
}

// desired: every service with D destinations, weight 2 on destination 0 of the changed ones.
func desired(S, D, pct int) []wanted {
	want := make([]wanted, S)
	for i := range want {
		want[i].svc = service(i)
		for j := 0; j < D; j++ {
			w := 1
			if j == 0 && changed(i, pct) {
				w = 2
			}
			want[i].dests = append(want[i].dests, dest(j, w))
		}
	}
	return want
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		die(err)
	}
	return n
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "moby driver:", err)
	os.Exit(1)
}

func cpu() (time.Duration, time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

func changed(i, pct int) bool {
	if pct <= 0 {
		return false
	}
	step := 100 / pct
	return i%step == 0
}

func main() {
	if len(os.Args) < 2 {
		die(fmt.Errorf("usage: moby-driver WORKLOAD ARGS..."))
	}
	h, err := ipvs.New("")
	if err != nil {
		die(err)
	}
	defer h.Close()
	args := os.Args[2:]
	res := map[string]interface{}{}
	// reconcile's desired state is the caller's input, made before the clock
	// (as every contender's is); its making is recorded beside
	var want []wanted
	if os.Args[1] == "reconcile" {
		t := time.Now()
		want = desired(atoi(args[0]), atoi(args[1]), atoi(args[2]))
		res["desired_ns"] = time.Since(t).Nanoseconds()
	}
	u0, s0 := cpu()
	t0 := time.Now()
	ops := 0
	switch os.Args[1] {
	case "create": // S D
		S, D := atoi(args[0]), atoi(args[1])
		for i := 0; i < S; i++ {
			s := service(i)
			if err := h.NewService(s); err != nil {
				die(err)
			}
			ops++
			for j := 0; j < D; j++ {
				if err := h.NewDestination(s, dest(j, 1)); err != nil {
					die(err)
				}
				ops++
			}
		}
	case "list": // S D (expected)
		S, D := atoi(args[0]), atoi(args[1])
		svcs, err := h.GetServices()
		if err != nil {
			die(err)
		}
		n := 0
		for _, s := range svcs {
			ds, err := h.GetDestinations(s)
			if err != nil {
				die(err)
			}
			n += len(ds)
		}
		if len(svcs) != S || n != S*D {
			die(fmt.Errorf("listed %d services %d destinations, expected %d and %d", len(svcs), n, S, S*D))
		}
		ops = len(svcs) + n
	case "reconcile": // S D PCT: desired = every service with D dests, weight 2 on dest 0 of changed services
		svcs, err := h.GetServices()
		if err != nil {
			die(err)
		}
		cur := map[string]map[string]*ipvs.Destination{}
		for _, s := range svcs {
			ds, err := h.GetDestinations(s)
			if err != nil {
				die(err)
			}
			m := map[string]*ipvs.Destination{}
			for _, d := range ds {
				m[fmt.Sprintf("%s:%d", d.Address, d.Port)] = d
			}
			cur[fmt.Sprintf("%s:%d", s.Address, s.Port)] = m
		}
		tRead := time.Since(t0)
		changes := 0
		for _, w := range want {
			s := w.svc
			m, ok := cur[fmt.Sprintf("%s:%d", s.Address, s.Port)]
			if !ok {
				if err := h.NewService(s); err != nil {
					die(err)
				}
				changes++
				m = map[string]*ipvs.Destination{}
			}
			for _, d := range w.dests {
				have, ok := m[fmt.Sprintf("%s:%d", d.Address, d.Port)]
				if !ok {
					if err := h.NewDestination(s, d); err != nil {
						die(err)
					}
					changes++
				} else if have.Weight != d.Weight {
					if err := h.UpdateDestination(s, d); err != nil {
						die(err)
					}
					changes++
				}
			}
		}
		ops = changes
		res["read_ns"] = tRead.Nanoseconds()
	case "latency": // N: add service, add destination, delete service, each timed
		N := atoi(args[0])
		lat := map[string][]int64{}
		for i := 0; i < N; i++ {
			s := service(i)
			t := time.Now()
			if err := h.NewService(s); err != nil {
				die(err)
			}
			lat["add_service"] = append(lat["add_service"], time.Since(t).Nanoseconds())
			t = time.Now()
			if err := h.NewDestination(s, dest(0, 1)); err != nil {
				die(err)
			}
			lat["add_destination"] = append(lat["add_destination"], time.Since(t).Nanoseconds())
		}
		for i := 0; i < N; i++ {
			t := time.Now()
			if err := h.DelService(service(i)); err != nil {
				die(err)
			}
			lat["delete_service"] = append(lat["delete_service"], time.Since(t).Nanoseconds())
		}
		all := []int64{}
		for k, v := range lat {
			sort.Slice(v, func(a, b int) bool { return v[a] < v[b] })
			res[k+"_p50_ns"] = v[len(v)/2]
			res[k+"_p99_ns"] = v[len(v)*99/100]
			all = append(all, v...)
		}
		sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
		res["all_p50_ns"] = all[len(all)/2]
		res["all_p99_ns"] = all[len(all)*99/100]
		ops = 3 * N
	case "teardown": // S MODE(flush|onebyone)
		S := atoi(args[0])
		switch args[1] {
		case "flush":
			if err := h.Flush(); err != nil {
				die(err)
			}
			ops = 1
		case "onebyone":
			for i := 0; i < S; i++ {
				if err := h.DelService(service(i)); err != nil {
					die(err)
				}
			}
			ops = S
		default:
			die(fmt.Errorf("unknown teardown mode %s", args[1]))
		}
	default:
		die(fmt.Errorf("unknown workload %s", os.Args[1]))
	}
	wall := time.Since(t0)
	u1, s1 := cpu()
	res["wall_ns"] = wall.Nanoseconds()
	res["ops"] = ops
	res["utime_ns"] = (u1 - u0).Nanoseconds()
	res["stime_ns"] = (s1 - s0).Nanoseconds()
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
}

// ---------------------------------------------------------------- scale rows
// (issue 21; examples/src/bench/scale.rs) new workloads only: init runs
// before main and takes the command lines that are theirs.

func init() {
	if len(os.Args) > 1 && os.Args[1] == "memory" {
		scaleMemory(os.Args[2:])
		os.Exit(0)
	}
}

func statusKiB(field string) int64 {
	text, err := os.ReadFile("/proc/self/status")
	if err != nil {
		die(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				return int64(atoi(f[1]))
			}
		}
	}
	die(fmt.Errorf("/proc/self/status has no %s", field))
	return 0
}

// memory S D: the peak RSS that GetServices+GetDestinations of the whole
// table adds over the RSS just before it (delta_bytes).
func scaleMemory(args []string) {
	if len(args) < 2 {
		die(fmt.Errorf("usage: moby-driver memory S D"))
	}
	S, D := atoi(args[0]), atoi(args[1])
	h, err := ipvs.New("")
	if err != nil {
		die(err)
	}
	defer h.Close()
	// RSS by 4 KiB pages, not 2 MiB blocks: no transparent huge pages from here
	if _, _, e := syscall.Syscall6(syscall.SYS_PRCTL, 41 /* PR_SET_THP_DISABLE */, 1, 0, 0, 0, 0); e != 0 {
		die(e)
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		die(err)
	}
	base := statusKiB("VmRSS")
	u0, s0 := cpu()
	t0 := time.Now()
	svcs, err := h.GetServices()
	if err != nil {
		die(err)
	}
	dests := make([][]*ipvs.Destination, 0, len(svcs))
	n := 0
	for _, s := range svcs {
		ds, err := h.GetDestinations(s)
		if err != nil {
			die(err)
		}
		dests = append(dests, ds)
		n += len(ds)
	}
	wall := time.Since(t0)
	hwm := statusKiB("VmHWM")
	u1, s1 := cpu()
	if len(svcs) != S || n != S*D || len(dests) != S {
		die(fmt.Errorf("listed %d services %d destinations, expected %d and %d", len(svcs), n, S, S*D))
	}
	delta := hwm - base
	if delta < 0 {
		delta = 0
	}
	out, _ := json.Marshal(map[string]interface{}{
		"wall_ns": wall.Nanoseconds(), "ops": S,
		"utime_ns": (u1 - u0).Nanoseconds(), "stime_ns": (s1 - s0).Nanoseconds(),
		"delta_bytes": delta * 1024,
	})
	fmt.Printf("RESULT %s\n", out)
}
