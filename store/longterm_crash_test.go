package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
)

// The crash test applies batches in a child process (this test binary,
// re-executed with crashDirEnv set) and SIGKILLs it at random moments. After
// each kill the store must hold exactly the messages below each partition's
// stored next offset: every bucket the sum of those messages, every mark the
// highest WAL offset among them, nothing of a later (partial) batch.
const (
	crashDirEnv     = "CELLWATCH_LONGTERM_CRASH_DIR"
	crashPartitions = 2
	crashMessages   = 1500 // per partition
)

var crashNow = t0.Add(3 * time.Hour)

// crashMessage is message s of partition p: three origins interleaved, WAL
// offsets ascending per origin, integer values (sums are exact), some
// high-resolution datums and some Values/Counts.
func crashMessage(p int, s int64) (Message, record.Metrics) {
	origin := fmt.Sprint("node-", s%3)
	ds := make([]record.Datum, 3)
	for j := range ds {
		k := s*3 + int64(j)
		d := datum("M", dims("Part", fmt.Sprint(p), "S", fmt.Sprint(k%5)), "Count",
			t0.Add(time.Duration(k%97)*time.Minute+time.Duration(k%7)*time.Second), float64(k%11))
		d.HighRes = k%4 == 0
		if k%5 == 0 {
			d.Values, d.Counts = []float64{float64(k % 13), 2}, []float64{1, 3}
		}
		ds[j] = d
	}
	m := record.Metrics{Tenant: "t1", Namespace: "App", Datums: ds}
	return metricsMsg(s, origin, uint64(s)*5+1, &m), m
}

func TestLongTermCrash(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for round := 0; ; round++ {
		done := crashRun(t, dir, rng.IntN(40))
		verifyCrashState(t, dir, round)
		if t.Failed() || done {
			t.Logf("%d kills before the child finished", round)
			return
		}
		if round > 200 {
			t.Fatal("the child never finished")
		}
	}
}

// crashRun starts a child and kills it after it reported kill batches (it
// keeps applying meanwhile, so the kill lands anywhere). It reports whether
// the child finished first.
func crashRun(t *testing.T, dir string, kill int) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLongTermCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	applied, done := 0, false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "applied ") {
			applied++
		}
		if line == "done" {
			done = true
			break
		}
		if applied >= kill {
			break
		}
	}
	if !done {
		_ = cmd.Process.Kill() // SIGKILL
	}
	for sc.Scan() { // drain; the child may have finished before the kill reached it
		if !done && sc.Text() == "done" {
			done = true
		}
	}
	err = cmd.Wait()
	if done && err != nil && !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	if !done && !strings.Contains(fmt.Sprint(err), "killed") {
		t.Fatalf("child ended before the kill: %v\n%s", err, stderr.String())
	}
	return done
}

// crashChild applies every partition's messages in random batches from the
// stored next offset, replaying a few applied ones each time, until all are
// applied.
func crashChild(t *testing.T, dir string) {
	clock := newClock(crashNow)
	lt, err := startLongTerm(LongTermConfig{Dir: dir, Now: clock.now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for p := range crashPartitions {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(p)))
			for {
				next := lt.NextOffset(p)
				if next >= crashMessages {
					return
				}
				from := max(0, next-rng.Int64N(5))
				to := min(crashMessages, next+1+rng.Int64N(12))
				var msgs []Message
				for s := from; s < to; s++ {
					m, _ := crashMessage(p, s)
					msgs = append(msgs, m)
				}
				if err := lt.ApplyBatch(p, msgs); err != nil {
					fmt.Fprintln(os.Stderr, "apply:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Printf("applied %d %d\n", p, to)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := stopLongTerm(lt); err != nil {
		t.Fatal(err)
	}
	fmt.Println("done")
}

// verifyCrashState reopens the store and checks it against the messages
// below each stored next offset.
func verifyCrashState(t *testing.T, dir string, round int) {
	t.Helper()
	clock := newClock(crashNow)
	lt := openTestLongTerm(t, dir, clock, nil)
	defer func() { _ = stopLongTerm(lt) }()
	want := model{}
	var nexts []int64
	for p := range crashPartitions {
		next := lt.NextOffset(p)
		nexts = append(nexts, next)
		wantMarks := map[string]uint64{}
		for s := range next {
			msg, m := crashMessage(p, s)
			want.apply(&m, crashNow.Unix())
			wantMarks[msg.Shipped.Origin] = msg.Shipped.Offset
		}
		marks, err := lt.Marks(p)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(marks) != fmt.Sprint(wantMarks) {
			t.Errorf("round %d, partition %d, next offset %d: marks %v; want %v", round, p, next, marks, wantMarks)
		}
	}
	t.Logf("round %d: next offsets %v", round, nexts)
	t.Run(fmt.Sprint("round", round), func(t *testing.T) {
		compareModels(t, dump(lt, "t1", t0.Add(-time.Hour).Unix(), t0.Add(3*time.Hour).Unix()), want)
	})
}
