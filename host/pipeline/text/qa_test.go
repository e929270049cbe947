package text

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hfhost/hfhost/sdk"
)

const qaFixture = "distilbert-question-answering"

// qaWant reads a case's pipeline.json: one answer per pair (transformers returns a bare dict
// for a single pair with top_k 1).
func qaWant(t *testing.T, cs string) []Answer {
	t.Helper()
	var raw json.RawMessage
	pipelineOutput(t, qaFixture, cs, &raw)
	var many []Answer
	if err := json.Unmarshal(raw, &many); err == nil {
		return many
	}
	var one Answer
	if err := json.Unmarshal(raw, &one); err != nil {
		t.Fatalf("%s: pipeline.json output: %v", cs, err)
	}
	return []Answer{one}
}

// TestQAMatchesPipelineOnRecordedLogits feeds PyTorch's recorded start/end logits back
// through the pipeline and compares answer, offsets and score with transformers' pipeline.json.
func TestQAMatchesPipelineOnRecordedLogits(t *testing.T) {
	d := openFixture(t, qaFixture)
	for name, raw := range fixtureCases(t, qaFixture) {
		t.Run(name, func(t *testing.T) {
			questions, contexts := caseTexts(t, raw)
			r := newReplay(t, qaFixture, name, "start_logits", "end_logits")
			q, err := NewQuestionAnswerer(d, r)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := q.Answer(context.Background(), questions, contexts, 1)
			if err != nil {
				t.Fatal(err)
			}
			want := qaWant(t, name)
			if len(got) != len(want) {
				t.Fatalf("%d results; transformers gave %d", len(got), len(want))
			}
			for i, w := range want {
				if len(got[i]) != 1 {
					t.Fatalf("pair %d: %d answers; want 1", i, len(got[i]))
				}
				g := got[i][0]
				if g.Answer != w.Answer || g.Start != w.Start || g.End != w.End || math.Abs(float64(g.Score-w.Score)) > 1e-6 {
					t.Errorf("pair %d: %+v; transformers gave %+v", i, g, w)
				}
			}
		})
	}
}

// TestQALongContextRunsWindows checks that a context longer than a window is cut into
// overlapping windows that each run, and that answers merge across them.
func TestQALongContextRunsWindows(t *testing.T) {
	d := openFixture(t, qaFixture)
	r := &spanRunner{info: fixtureInfo(t, qaFixture)}
	q, err := NewQuestionAnswerer(d, r)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("the house is old and stands near the sea. ", 60)
	got, _, err := q.Answer(context.Background(), []string{"how old is the house?"}, []string{long}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.lens) < 3 {
		t.Fatalf("%d windows; a %d-character context should need several of at most 384 tokens", len(r.lens), len(long))
	}
	for _, n := range r.lens {
		if n > 384 {
			t.Errorf("window of %d tokens; want at most 384", n)
		}
	}
	if len(got) != 1 || len(got[0]) != 3 {
		t.Fatalf("answers %+v; want 3", got)
	}
	for i := 1; i < len(got[0]); i++ {
		if got[0][i].Score > got[0][i-1].Score {
			t.Errorf("answers not sorted by score: %+v", got[0])
		}
	}
	for _, a := range got[0] {
		if string([]rune(long)[a.Start:a.End]) != a.Answer {
			t.Errorf("answer %+v is not the context's text at its offsets", a)
		}
	}
}

// spanRunner answers start/end logits that rise along the sequence, recording window lengths.
type spanRunner struct {
	info *sdk.ModelInfo
	lens []int
	err  error
}

func (r *spanRunner) Model(string) *sdk.ModelInfo { return r.info }

func (r *spanRunner) Run(_ context.Context, _ string, req *sdk.RunRequest) (*sdk.RunResult, error) {
	if r.err != nil {
		return nil, r.err
	}
	n := int(req.Inputs[0].Tensor.Shape[1])
	r.lens = append(r.lens, n)
	res := &sdk.RunResult{}
	for k, o := range req.Outputs {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((i*7+k*3)%11) / 3
		}
		t, _ := sdk.NewTensor([]int64{1, int64(n)}, v)
		res.Outputs = append(res.Outputs, sdk.Value{Name: o.Name, Tensor: t})
	}
	return res, nil
}

func TestBestSpans(t *testing.T) {
	// Tokens 0 (CLS) and 1 (question) are not allowed; 2..5 are context.
	allowed := []bool{true, false, true, true, true, true}
	start := []float32{9, 9, 0, 3, 0, 0}
	end := []float32{9, 9, 0, 0, 0, 3}
	got := bestSpans(start, end, allowed, 1, 15)
	if len(got) != 1 || got[0].s != 3 || got[0].e != 5 {
		t.Fatalf("best span %+v; want tokens 3..5", got)
	}
	// max_answer_len 2 forbids 3..5: the best is then 3..4 or 4..5.
	got = bestSpans(start, end, allowed, 1, 2)
	if len(got) != 1 || got[0].e-got[0].s > 1 {
		t.Fatalf("best span with max_answer_len 2: %+v", got)
	}
	var sum float32
	for _, s := range bestSpans(start, end, allowed, 100, 15) {
		if !allowed[s.s] || !allowed[s.e] {
			t.Errorf("span %+v touches a disallowed token", s)
		}
		if s.e >= s.s {
			sum += s.score
		}
	}
	if sum <= 0 || sum > 1 {
		t.Errorf("span scores sum to %g; want a probability mass in (0, 1]", sum)
	}
}

func TestQAErrors(t *testing.T) {
	d := openFixture(t, qaFixture)
	info := fixtureInfo(t, qaFixture)
	bad := *info
	bad.Outputs = bad.Outputs[:1]
	if _, err := NewQuestionAnswerer(d, &spanRunner{info: &bad}); err == nil || !strings.Contains(err.Error(), "end_logits") {
		t.Errorf("missing end_logits: err %v", err)
	}
	q, err := NewQuestionAnswerer(d, &spanRunner{info: info})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Answer(context.Background(), []string{"a", "b"}, []string{"c"}, 1); err == nil || !strings.Contains(err.Error(), "one context per question") {
		t.Errorf("count mismatch: err %v", err)
	}
	if _, _, err := q.Answer(context.Background(), []string{"a"}, []string{" "}, 1); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty context: err %v", err)
	}
	boom := errors.New("backend gone")
	q, _ = NewQuestionAnswerer(d, &spanRunner{info: info, err: boom})
	if _, _, err := q.Answer(context.Background(), []string{"a"}, []string{"b c d"}, 1); !errors.Is(err, boom) {
		t.Errorf("run error: %v; want the runner's error", err)
	}
}
