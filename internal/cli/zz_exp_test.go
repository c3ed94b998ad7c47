package cli

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

func heapNow() uint64 { var m runtime.MemStats; runtime.ReadMemStats(&m); return m.HeapAlloc }

func TestZZWorst(t *testing.T) {
	ctx := context.Background()
	d, _, cleanup, err := benchDB(ctx, os.Getenv("PGURL"))
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	a := auth.New(d, auth.Options{})
	pol := policy.NewStore(d)
	reg := registry.New(d, a, pol)
	const region = "330100"
	month := period.MonthOf(d.Now())
	p, _, _ := policy.Default(region, month.Add(-12))
	pol.Install(ctx, audit.System, p)
	clerk := &auth.Principal{User: auth.User{Username: "bench-clerk", Role: auth.Clerk, Regions: []string{region}}}
	uscc, _ := ident.MakeUSCC("91330100BENCH0001")
	e, _ := reg.RegisterEmployer(ctx, clerk, registry.NewEmployer{USCC: string(uscc), Name: "基准测试有限公司", LegalRep: "基准", RiskClass: 3})
	hr := &auth.Principal{User: auth.User{Username: "bench-hr", Role: auth.Employer, Regions: []string{region}, EmployerID: e.ID}}

	lim := registry.StaffLimits.Resolved()
	ids := benchIDs(lim.MaxRows)
	data, w, err := worstStaffFile(lim, ids, month.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", w)
	runtime.GC()
	base := heapNow()
	var mu sync.Mutex
	stop := make(chan bool)
	peak := uint64(0)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if h := heapNow(); h > peak {
				mu.Lock()
				peak = h
				if h-base > 250<<20 && os.Getenv("PROF") != "" {
					f, _ := os.Create("/tmp/exp/heap-peak.pprof")
					pprof.WriteHeapProfile(f)
					f.Close()
				}
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	res, err := reg.ImportStaff(ctx, hr, string(e.USCC), "w.xlsx", data)
	stop <- true
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("import %+v in %v: peak heap %d MiB over base", res, time.Since(start), (peak-base)>>20)
}
