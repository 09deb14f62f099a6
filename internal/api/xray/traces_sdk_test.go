package xray

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
)

// TestTraceOperationsGoSDKv2 reads the fixture traces with aws-sdk-go-v2's
// X-Ray client: every answer must decode into the SDK's types (integers as
// integers, times as epoch numbers) and bad input into its exceptions.
func TestTraceOperationsGoSDKv2(t *testing.T) {
	th := newTraceHarness(t, 2)
	th.seed(t)
	srv := httptest.NewServer(th.h)
	defer srv.Close()
	c := goClient(srv.URL, "AKID", "secret")
	ctx := context.Background()
	start, end := aws.Time(time.Unix(1795607940, 0)), aws.Time(time.Unix(1795608120, 0))

	g, err := c.GetServiceGraph(ctx, &xraysvc.GetServiceGraphInput{StartTime: start, EndTime: end})
	if err != nil {
		t.Fatal(err)
	}
	var backend *types.Service
	for i := range g.Services {
		if aws.ToString(g.Services[i].Name) == "backend-flask" && g.Services[i].Type == nil {
			backend = &g.Services[i]
		}
	}
	if backend == nil || aws.ToInt64(backend.SummaryStatistics.TotalCount) != 4 || aws.ToInt64(backend.SummaryStatistics.FaultStatistics.TotalCount) != 1 ||
		g.ContainsOldGroupVersions || !g.StartTime.Equal(*start) {
		t.Errorf("GetServiceGraph: backend-flask %+v, answer %+v", backend, g)
	}

	var ids []string
	p := xraysvc.NewGetTraceSummariesPaginator(c, &xraysvc.GetTraceSummariesInput{StartTime: start, EndTime: end,
		FilterExpression: aws.String(`service("backend-flask")`)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt64(out.TracesProcessedCount) != 5 {
			t.Errorf("TracesProcessedCount %d, want 5", aws.ToInt64(out.TracesProcessedCount))
		}
		for _, s := range out.TraceSummaries {
			ids = append(ids, aws.ToString(s.Id))
			if s.Revision == 0 || s.StartTime == nil {
				t.Errorf("summary %s lacks Revision or StartTime", aws.ToString(s.Id))
			}
		}
	}
	if len(ids) != 4 {
		t.Fatalf("GetTraceSummaries: %v, want 4 traces", ids)
	}

	bt, err := c.BatchGetTraces(ctx, &xraysvc.BatchGetTracesInput{TraceIds: ids[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if len(bt.Traces) != 2 || len(bt.UnprocessedTraceIds) != 0 || len(bt.Traces[0].Segments) == 0 {
		t.Errorf("BatchGetTraces: %+v", bt)
	}

	tg, err := c.GetTraceGraph(ctx, &xraysvc.GetTraceGraphInput{TraceIds: ids})
	if err != nil || len(tg.Services) == 0 {
		t.Errorf("GetTraceGraph: %v %+v", err, tg)
	}

	ts, err := c.GetTimeSeriesServiceStatistics(ctx, &xraysvc.GetTimeSeriesServiceStatisticsInput{StartTime: start, EndTime: end,
		EntitySelectorExpression: aws.String(`service("backend-flask")`), Period: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.TimeSeriesServiceStatistics) != 1 || aws.ToInt64(ts.TimeSeriesServiceStatistics[0].ServiceSummaryStatistics.TotalCount) != 4 {
		t.Errorf("GetTimeSeriesServiceStatistics: %+v", ts.TimeSeriesServiceStatistics)
	}

	put, err := c.PutTraceSegments(ctx, &xraysvc.PutTraceSegmentsInput{TraceSegmentDocuments: []string{`{"name":"x"}`}})
	if err != nil || len(put.UnprocessedTraceSegments) != 1 || aws.ToString(put.UnprocessedTraceSegments[0].ErrorCode) != "MissingId" {
		t.Errorf("PutTraceSegments: %v %+v", err, put)
	}

	_, err = c.GetTraceSummaries(ctx, &xraysvc.GetTraceSummariesInput{StartTime: start, EndTime: end, FilterExpression: aws.String(`service(`)})
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) {
		t.Errorf("bad filter: %v, want InvalidRequestException", err)
	}
}
