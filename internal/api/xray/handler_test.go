package xray

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/golden"
)

const cruddurRule = `{"SamplingRule":{"RuleName":"Cruddur","ResourceARN":"*","Priority":9000,"FixedRate":0.1,"ReservoirSize":5,"ServiceName":"backend-flask","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}}`

// ruleWith returns the lesson's rule with one member replaced by raw JSON.
func ruleWith(member, raw string) string {
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cruddurRule), &m); err != nil {
		panic(err)
	}
	if raw == "" {
		delete(m["SamplingRule"], member)
	} else {
		m["SamplingRule"][member] = json.RawMessage(raw)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func statsBody(rule, client string, ts float64, requests int) string {
	return fmt.Sprintf(`{"SamplingStatisticsDocuments":[{"RuleName":%q,"ClientID":%q,"Timestamp":%v,"RequestCount":%d,"SampledCount":1,"BorrowCount":0}]}`, rule, client, ts, requests)
}

type step struct {
	name    string
	path    string
	body    string
	status  int
	code    string // X-Amzn-ErrorType, "" for success
	substr  string // must appear in the body
	advance time.Duration
}

// TestOperations runs every control-plane operation and its validation
// errors in order against one handler; each answer is checked here and
// recorded in testdata/operations.golden (-update rewrites it).
func TestOperations(t *testing.T) {
	hs := newHarness(t, nil)
	ts := float64(t0.Unix())
	long := func(n int) string { return `"` + strings.Repeat("x", n) + `"` }
	steps := []step{
		// Sampling rules.
		{name: "rules: only Default", path: "/GetSamplingRules", body: ``, status: 200, substr: `"Priority":10000`},
		{name: "rules: SDK body with null token", path: "/GetSamplingRules", body: `{"NextToken":null}`, status: 200, substr: `"RuleName":"Default"`},
		{name: "create: lesson rule", path: "/CreateSamplingRule", body: cruddurRule, status: 200, substr: `"Priority":9000,"FixedRate":0.1,"ReservoirSize":5`},
		{name: "create: duplicate", path: "/CreateSamplingRule", body: cruddurRule, status: 400, code: CodeInvalidRequest, substr: "already exists"},
		{name: "create: no SamplingRule", path: "/CreateSamplingRule", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "'samplingRule' failed to satisfy constraint: Member must not be null"},
		{name: "create: Default reserved", path: "/CreateSamplingRule", body: ruleWith("RuleName", `"Default"`), status: 400, code: CodeInvalidRequest, substr: "reserved"},
		{name: "create: name 33", path: "/CreateSamplingRule", body: ruleWith("RuleName", long(33)), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.ruleName' failed to satisfy constraint: Member must have length less than or equal to 32"},
		{name: "create: empty name", path: "/CreateSamplingRule", body: ruleWith("RuleName", `""`), status: 400, code: CodeInvalidRequest, substr: "length greater than or equal to 1"},
		{name: "create: no name", path: "/CreateSamplingRule", body: ruleWith("RuleName", ""), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.ruleName' failed to satisfy constraint: Member must not be null"},
		{name: "create: ResourceARN 501", path: "/CreateSamplingRule", body: ruleWith("ResourceARN", long(501)), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.resourceARN' failed to satisfy constraint: Member must have length less than or equal to 500"},
		{name: "create: Priority 0", path: "/CreateSamplingRule", body: ruleWith("Priority", `0`), status: 400, code: CodeInvalidRequest, substr: "Value '0' at 'samplingRule.priority' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "create: Priority 10000", path: "/CreateSamplingRule", body: ruleWith("Priority", `10000`), status: 400, code: CodeInvalidRequest, substr: "less than or equal to 9999"},
		{name: "create: Priority string", path: "/CreateSamplingRule", body: ruleWith("Priority", `"high"`), status: 400, code: CodeInvalidRequest, substr: "SamplingRule.Priority: expected an integer"},
		{name: "create: Priority fraction", path: "/CreateSamplingRule", body: ruleWith("Priority", `5.5`), status: 400, code: CodeInvalidRequest, substr: "expected an integer"},
		{name: "create: FixedRate 1.5", path: "/CreateSamplingRule", body: ruleWith("FixedRate", `1.5`), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.fixedRate' failed to satisfy constraint: Member must have value between 0 and 1"},
		{name: "create: FixedRate negative", path: "/CreateSamplingRule", body: ruleWith("FixedRate", `-0.5`), status: 400, code: CodeInvalidRequest, substr: "fixedRate"},
		{name: "create: ReservoirSize -1", path: "/CreateSamplingRule", body: ruleWith("ReservoirSize", `-1`), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.reservoirSize' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{name: "create: ServiceName 65", path: "/CreateSamplingRule", body: ruleWith("ServiceName", long(65)), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.serviceName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{name: "create: ServiceType 65", path: "/CreateSamplingRule", body: ruleWith("ServiceType", long(65)), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.serviceType'"},
		{name: "create: Host 65", path: "/CreateSamplingRule", body: ruleWith("Host", long(65)), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.host'"},
		{name: "create: HTTPMethod 11", path: "/CreateSamplingRule", body: ruleWith("HTTPMethod", long(11)), status: 400, code: CodeInvalidRequest, substr: "Member must have length less than or equal to 10"},
		{name: "create: URLPath 129", path: "/CreateSamplingRule", body: ruleWith("URLPath", long(129)), status: 400, code: CodeInvalidRequest, substr: "Member must have length less than or equal to 128"},
		{name: "create: no ServiceName", path: "/CreateSamplingRule", body: ruleWith("ServiceName", ""), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.serviceName' failed to satisfy constraint: Member must not be null"},
		{name: "create: Version 2", path: "/CreateSamplingRule", body: ruleWith("Version", `2`), status: 400, code: CodeInvalidRequest, substr: "Value '2' at 'samplingRule.version'"},
		{name: "create: 6 attributes", path: "/CreateSamplingRule", body: ruleWith("Attributes", `{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1"}`), status: 400, code: CodeInvalidRequest, substr: "at most 5 entries"},
		{name: "create: attribute value 33", path: "/CreateSamplingRule", body: ruleWith("Attributes", `{"k":`+long(33)+`}`), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.attributes.k'"},
		{name: "create: two errors", path: "/CreateSamplingRule", body: ruleWith("FixedRate", `7`)[:len(ruleWith("FixedRate", `7`))-2] + `,"Priority":0}}`, status: 400, code: CodeInvalidRequest, substr: "2 validation errors detected"},
		{name: "create: boost rate 2", path: "/CreateSamplingRule", body: ruleWith("SamplingRateBoost", `{"MaxRate":2,"CooldownWindowMinutes":1}`), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.samplingRateBoost.maxRate' failed to satisfy constraint: Member must have value between 0 and 1"},
		{name: "create: boost cooldown 0", path: "/CreateSamplingRule", body: ruleWith("SamplingRateBoost", `{"MaxRate":0.5,"CooldownWindowMinutes":0}`), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.samplingRateBoost.cooldownWindowMinutes' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "create: attribute key 33", path: "/CreateSamplingRule", body: ruleWith("Attributes", `{`+long(33)+`:"v"}`), status: 400, code: CodeInvalidRequest, substr: "'samplingRule.attributes key' failed to satisfy constraint: Member must have length less than or equal to 32"},
		{name: "create: tag value 257", path: "/CreateSamplingRule", body: ruleWith("RuleName", `"Tagged"`)[:len(ruleWith("RuleName", `"Tagged"`))-1] + `,"Tags":[{"Key":"k","Value":` + long(257) + `}]}`, status: 400, code: CodeInvalidRequest, substr: "'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{name: "create: with attributes and tags", path: "/CreateSamplingRule", body: `{"SamplingRule":{"RuleName":"Gold","ResourceARN":"*","Priority":10,"FixedRate":1,"ReservoirSize":0,"ServiceName":"*","ServiceType":"*","Host":"*","HTTPMethod":"GET","URLPath":"/api/*","Version":1,"Attributes":{"tier":"gold"}},"Tags":[{"Key":"team","Value":"cruddur"}]}`, status: 200, substr: `"Attributes":{"tier":"gold"}`, advance: time.Minute},
		{name: "rules: three in order", path: "/GetSamplingRules", body: `{}`, status: 200, substr: `"RuleName":"Gold"`},
		{name: "update: rate", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleName":"Cruddur","FixedRate":0.2}}`, status: 200, substr: `"FixedRate":0.2,"ReservoirSize":5`},
		{name: "update: by ARN", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","ReservoirSize":7}}`, status: 200, substr: `"ReservoirSize":7`},
		{name: "update: unknown rule", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleName":"Nope","FixedRate":0.2}}`, status: 400, code: CodeInvalidRequest, substr: "Sampling rule Nope does not exist."},
		{name: "update: no identifier", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"FixedRate":0.2}}`, status: 400, code: CodeInvalidRequest, substr: "Either RuleName or RuleARN"},
		{name: "update: missing update", path: "/UpdateSamplingRule", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "'samplingRuleUpdate'"},
		{name: "update: bad rate", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleName":"Cruddur","FixedRate":3}}`, status: 400, code: CodeInvalidRequest, substr: "'samplingRuleUpdate.fixedRate'"},
		{name: "update: Version", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleName":"Cruddur","Version":2}}`, status: 400, code: CodeInvalidRequest, substr: "Version cannot be updated"},
		{name: "update: both name and ARN", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleName":"Cruddur","RuleARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","FixedRate":0.2}}`, status: 400, code: CodeInvalidRequest, substr: "not both"},
		{name: "update: Default priority", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleName":"Default","Priority":5}}`, status: 400, code: CodeInvalidRequest, substr: "Invalid update request for default sampling rule"},
		{name: "update: Default rate", path: "/UpdateSamplingRule", body: `{"SamplingRuleUpdate":{"RuleName":"Default","FixedRate":0.5,"ReservoirSize":2}}`, status: 200, substr: `"Priority":10000,"FixedRate":0.5,"ReservoirSize":2`},
		// Targets and statistics.
		{name: "targets: lesson rule", path: "/SamplingTargets", body: statsBody("Cruddur", "aaaaaaaaaaaaaaaaaaaaaaaa", ts+60, 100), status: 200, substr: `"ReservoirQuota":7,"ReservoirQuotaTTL":1795608360,"Interval":10`},
		{name: "targets: alias path, Java milliseconds", path: "/GetSamplingTargets", body: statsBody("Default", "bbbbbbbbbbbbbbbbbbbbbbbb", (ts+60)*1000, 10), status: 200, substr: `"RuleName":"Default","FixedRate":0.5,"ReservoirQuota":2`},
		{name: "targets: unknown rule", path: "/SamplingTargets", body: statsBody("Nope", "aaaaaaaaaaaaaaaaaaaaaaaa", ts+60, 1), status: 200, substr: `"UnprocessedStatistics":[{"RuleName":"Nope","ErrorCode":"400"`},
		{name: "targets: stale timestamp", path: "/SamplingTargets", body: statsBody("Cruddur", "aaaaaaaaaaaaaaaaaaaaaaaa", ts-86400, 1), status: 200, substr: `"ErrorCode":"400","Message":"Statistics timestamp`},
		{name: "targets: missing documents", path: "/SamplingTargets", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "'samplingStatisticsDocuments' failed to satisfy constraint: Member must not be null"},
		{name: "targets: short ClientID", path: "/SamplingTargets", body: statsBody("Cruddur", "abc", ts, 1), status: 400, code: CodeInvalidRequest, substr: "'samplingStatisticsDocuments.1.member.clientID' failed to satisfy constraint: Member must have length greater than or equal to 24"},
		{name: "targets: negative count", path: "/SamplingTargets", body: statsBody("Cruddur", "aaaaaaaaaaaaaaaaaaaaaaaa", ts, -4), status: 400, code: CodeInvalidRequest, substr: "requestCount"},
		{name: "targets: boost statistics", path: "/SamplingTargets", body: `{"SamplingStatisticsDocuments":[],"SamplingBoostStatisticsDocuments":[{"RuleName":"Cruddur","ServiceName":"s","Timestamp":1,"AnomalyCount":0,"TotalCount":1,"SampledAnomalyCount":0}]}`, status: 200, substr: `"UnprocessedBoostStatistics":[{"RuleName":"Cruddur"`},
		{name: "statistics: summaries", path: "/SamplingStatisticSummaries", body: `{}`, status: 200, substr: `{"RuleName":"Cruddur","Timestamp":1795608060,"RequestCount":100,"BorrowCount":0,"SampledCount":1}`},
		// Rule deletion.
		{name: "delete: Default", path: "/DeleteSamplingRule", body: `{"RuleName":"Default"}`, status: 400, code: CodeInvalidRequest, substr: "cannot be deleted"},
		{name: "delete: nothing named", path: "/DeleteSamplingRule", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "Either RuleName or RuleARN"},
		{name: "delete: both named", path: "/DeleteSamplingRule", body: `{"RuleName":"Gold","RuleARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Gold"}`, status: 400, code: CodeInvalidRequest, substr: "not both"},
		{name: "delete: Gold", path: "/DeleteSamplingRule", body: `{"RuleName":"Gold"}`, status: 200, substr: `"RuleName":"Gold"`},
		{name: "delete: Gold again", path: "/DeleteSamplingRule", body: `{"RuleName":"Gold"}`, status: 400, code: CodeInvalidRequest, substr: "does not exist"},
		// Groups.
		{name: "groups: only Default", path: "/Groups", body: ``, status: 200, substr: `"GroupARN":"arn:aws:xray:us-east-1:000000000000:group/Default"`},
		{name: "group: create lesson group", path: "/CreateGroup", body: `{"GroupName":"Cruddur","FilterExpression":"service(\"backend-flask\")"}`, status: 200, substr: `"FilterExpression":"service(\"backend-flask\")","InsightsConfiguration":{"InsightsEnabled":false,"NotificationsEnabled":false}`},
		{name: "group: duplicate", path: "/CreateGroup", body: `{"GroupName":"Cruddur"}`, status: 400, code: CodeInvalidRequest, substr: "already exists"},
		{name: "group: no name", path: "/CreateGroup", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "'groupName' failed to satisfy constraint: Member must not be null"},
		{name: "group: name 33", path: "/CreateGroup", body: `{"GroupName":` + long(33) + `}`, status: 400, code: CodeInvalidRequest, substr: "Member must have length less than or equal to 32"},
		{name: "group: bad characters", path: "/CreateGroup", body: `{"GroupName":"my group"}`, status: 400, code: CodeInvalidRequest, substr: "only letters, digits and '-'"},
		{name: "group: bad filter", path: "/CreateGroup", body: `{"GroupName":"Bad","FilterExpression":"service(\"x\""}`, status: 400, code: CodeInvalidRequest, substr: `Invalid filter expression: unexpected end of expression at column 12: expected \")\" after the service name`},
		{name: "group: notifications without insights", path: "/CreateGroup", body: `{"GroupName":"N","InsightsConfiguration":{"NotificationsEnabled":true}}`, status: 400, code: CodeInvalidRequest, substr: "insights enabled"},
		{name: "group: with insights and tags", path: "/CreateGroup", body: `{"GroupName":"Insightful","InsightsConfiguration":{"InsightsEnabled":true},"Tags":[{"Key":"env","Value":"dev"}]}`, status: 200, substr: `"InsightsEnabled":true`},
		{name: "group: get by name", path: "/GetGroup", body: `{"GroupName":"Cruddur"}`, status: 200, substr: `"GroupName":"Cruddur"`},
		{name: "group: get Default", path: "/GetGroup", body: `{"GroupName":"Default"}`, status: 200, substr: `"GroupARN":"arn:aws:xray:us-east-1:000000000000:group/Default"`},
		{name: "group: get unknown", path: "/GetGroup", body: `{"GroupName":"Nope"}`, status: 400, code: CodeInvalidRequest, substr: "Group not found"},
		{name: "group: get nothing named", path: "/GetGroup", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "Either GroupName or GroupARN"},
		{name: "group: name and ARN disagree", path: "/GetGroup", body: `{"GroupName":"Cruddur","GroupARN":"arn:aws:xray:us-east-1:000000000000:group/Other/X"}`, status: 400, code: CodeInvalidRequest, substr: "name different groups"},
		{name: "group: ARN 401", path: "/GetGroup", body: `{"GroupARN":` + long(401) + `}`, status: 400, code: CodeInvalidRequest, substr: "'groupARN' failed to satisfy constraint: Member must have length less than or equal to 400"},
		{name: "group: update filter", path: "/UpdateGroup", body: `{"GroupName":"Cruddur","FilterExpression":"service(\"frontend\")"}`, status: 200, substr: `"FilterExpression":"service(\"frontend\")"`},
		{name: "group: update bad filter", path: "/UpdateGroup", body: `{"GroupName":"Cruddur","FilterExpression":"(("}`, status: 400, code: CodeInvalidRequest, substr: "Invalid filter expression"},
		{name: "group: update Default", path: "/UpdateGroup", body: `{"GroupName":"Default","FilterExpression":"ok"}`, status: 400, code: CodeInvalidRequest, substr: "cannot be updated"},
		{name: "groups: all", path: "/Groups", body: `{}`, status: 200, substr: `"GroupName":"Insightful"`},
		{name: "groups: bad token", path: "/Groups", body: `{"NextToken":"garbage"}`, status: 400, code: CodeInvalidRequest, substr: "Invalid NextToken"},
		{name: "group: delete Default", path: "/DeleteGroup", body: `{"GroupName":"Default"}`, status: 400, code: CodeInvalidRequest, substr: "cannot be deleted"},
		{name: "group: delete", path: "/DeleteGroup", body: `{"GroupName":"Insightful"}`, status: 200, substr: `{}`},
		{name: "group: delete again", path: "/DeleteGroup", body: `{"GroupName":"Insightful"}`, status: 400, code: CodeInvalidRequest, substr: "Group not found"},
		// Tags.
		{name: "tags: add", path: "/TagResource", body: `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","Tags":[{"Key":"team","Value":"cruddur"},{"Key":"stage","Value":"dev"}]}`, status: 200, substr: `{}`},
		{name: "tags: list", path: "/ListTagsForResource", body: `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur"}`, status: 200, substr: `"Tags":[{"Key":"team","Value":"cruddur"},{"Key":"stage","Value":"dev"}]`},
		{name: "tags: remove", path: "/UntagResource", body: `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","TagKeys":["stage"]}`, status: 200, substr: `{}`},
		{name: "tags: list after remove", path: "/ListTagsForResource", body: `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur"}`, status: 200, substr: `"Tags":[{"Key":"team","Value":"cruddur"}]`},
		{name: "tags: unknown resource", path: "/TagResource", body: `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:group/Nope/X","Tags":[{"Key":"a","Value":"b"}]}`, status: 404, code: CodeResourceNotFound, substr: `"ResourceName":"arn:aws:xray:us-east-1:000000000000:group/Nope/X"`},
		{name: "tags: list unknown resource", path: "/ListTagsForResource", body: `{"ResourceARN":"arn:nope"}`, status: 404, code: CodeResourceNotFound, substr: "Resource not found"},
		{name: "tags: untag unknown resource", path: "/UntagResource", body: `{"ResourceARN":"arn:nope","TagKeys":["a"]}`, status: 404, code: CodeResourceNotFound},
		{name: "tags: reserved prefix", path: "/TagResource", body: `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","Tags":[{"Key":"aws:x","Value":"b"}]}`, status: 400, code: CodeInvalidRequest, substr: "reserved prefix 'aws:'"},
		{name: "tags: key too long", path: "/TagResource", body: `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","Tags":[{"Key":` + long(129) + `,"Value":"b"}]}`, status: 400, code: CodeInvalidRequest, substr: "'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{name: "tags: too many", path: "/TagResource", body: tooManyTags(), status: 400, code: CodeTooManyTags, substr: "at most 50 tags"},
		{name: "tags: no ARN", path: "/TagResource", body: `{"Tags":[]}`, status: 400, code: CodeInvalidRequest, substr: "'resourceARN' failed to satisfy constraint: Member must not be null"},
		{name: "tags: no tags", path: "/TagResource", body: `{"ResourceARN":"arn:nope"}`, status: 400, code: CodeInvalidRequest, substr: "'tags'"},
		{name: "tags: no keys", path: "/UntagResource", body: `{"ResourceARN":"arn:nope"}`, status: 400, code: CodeInvalidRequest, substr: "'tagKeys'"},
		// Encryption.
		{name: "encryption: default", path: "/EncryptionConfig", body: ``, status: 200, substr: `{"EncryptionConfig":{"Status":"ACTIVE","Type":"NONE"}}`},
		{name: "encryption: KMS without key", path: "/PutEncryptionConfig", body: `{"Type":"KMS"}`, status: 400, code: CodeInvalidRequest, substr: "KeyId is required"},
		{name: "encryption: bad type", path: "/PutEncryptionConfig", body: `{"Type":"AES"}`, status: 400, code: CodeInvalidRequest, substr: "enum value set: [NONE, KMS]"},
		{name: "encryption: no type", path: "/PutEncryptionConfig", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "'type' failed to satisfy constraint: Member must not be null"},
		{name: "encryption: KMS", path: "/PutEncryptionConfig", body: `{"Type":"KMS","KeyId":"alias/aws/xray"}`, status: 200, substr: `{"EncryptionConfig":{"KeyId":"alias/aws/xray","Status":"UPDATING","Type":"KMS"}}`, advance: time.Minute},
		{name: "encryption: active later", path: "/EncryptionConfig", body: `{}`, status: 200, substr: `"Status":"ACTIVE","Type":"KMS"`},
		// Telemetry.
		{name: "telemetry: daemon records", path: "/TelemetryRecords", body: `{"TelemetryRecords":[{"Timestamp":1764072000,"SegmentsReceivedCount":3,"SegmentsSentCount":3,"SegmentsSpilloverCount":0,"SegmentsRejectedCount":0,"BackendConnectionErrors":{"TimeoutCount":0,"ConnectionRefusedCount":0,"HTTPCode4XXCount":0,"HTTPCode5XXCount":0,"UnknownHostCount":0,"OtherCount":0}}],"EC2InstanceId":"i-0123","Hostname":"host"}`, status: 200, substr: `{}`},
		{name: "telemetry: no records", path: "/TelemetryRecords", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "'telemetryRecords'"},
		{name: "telemetry: no timestamp, long hostname", path: "/TelemetryRecords", body: `{"TelemetryRecords":[{}],"Hostname":` + long(256) + `}`, status: 400, code: CodeInvalidRequest, substr: "2 validation errors detected"},
		{name: "telemetry: instance id 21", path: "/TelemetryRecords", body: `{"TelemetryRecords":[],"EC2InstanceId":` + long(21) + `}`, status: 400, code: CodeInvalidRequest, substr: "'eC2InstanceId' failed to satisfy constraint: Member must have length less than or equal to 20"},
		{name: "encryption: key id 3001", path: "/PutEncryptionConfig", body: `{"Type":"KMS","KeyId":` + long(3001) + `}`, status: 400, code: CodeInvalidRequest, substr: "'keyId' failed to satisfy constraint: Member must have length less than or equal to 3000"},
		// Stubs.
		{name: "stub: insight summaries", path: "/InsightSummaries", body: `{"StartTime":1764072000,"EndTime":1764075600}`, status: 200, substr: `{"InsightSummaries":[]}`},
		{name: "stub: insight summaries without window", path: "/InsightSummaries", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "StartTime and EndTime"},
		{name: "stub: insight", path: "/Insight", body: `{"InsightId":"12345678-1234-1234-1234-123456789012"}`, status: 200, substr: `{}`},
		{name: "stub: insight bad id", path: "/Insight", body: `{"InsightId":"x"}`, status: 400, code: CodeInvalidRequest, substr: "insightId"},
		{name: "stub: insight events", path: "/InsightEvents", body: `{"InsightId":"12345678-1234-1234-1234-123456789012"}`, status: 200, substr: `{"InsightEvents":[]}`},
		{name: "stub: insight impact graph", path: "/InsightImpactGraph", body: `{"InsightId":"12345678-1234-1234-1234-123456789012","StartTime":1,"EndTime":2}`, status: 200, substr: `"Services":[]`},
		{name: "indexing rules: the Default rule", path: "/GetIndexingRules", body: `{}`, status: 200, substr: `{"IndexingRules":[{"Name":"Default","ModifiedAt":0,"Rule":{"Probabilistic":{"DesiredSamplingPercentage":1,"ActualSamplingPercentage":1}}}]}`},
		{name: "indexing rule: empty union", path: "/UpdateIndexingRule", body: `{"Name":"Default","Rule":{}}`, status: 400, code: CodeInvalidRequest, substr: "exactly one member"},
		{name: "indexing rule: unknown", path: "/UpdateIndexingRule", body: `{"Name":"Mine","Rule":{"Probabilistic":{"DesiredSamplingPercentage":10}}}`, status: 404, code: CodeResourceNotFound},
		{name: "segment destination", path: "/GetTraceSegmentDestination", body: ``, status: 200, substr: `{"Destination":"XRay","Status":"ACTIVE"}`},
		{name: "segment destination to logs", path: "/UpdateTraceSegmentDestination", body: `{"Destination":"CloudWatchLogs"}`, status: 200, substr: `{"Destination":"CloudWatchLogs","Status":"PENDING"}`},
		{name: "segment destination unknown", path: "/UpdateTraceSegmentDestination", body: `{"Destination":"S3"}`, status: 400, code: CodeInvalidRequest, substr: "enum value set"},
		// Resource policies.
		{name: "policies: none", path: "/ListResourcePolicies", body: `{}`, status: 200, substr: `{"ResourcePolicies":[]}`},
		{name: "policy: create only", path: "/PutResourcePolicy", body: `{"PolicyName":"sns","PolicyDocument":` + policyDoc + `,"PolicyRevisionId":"0"}`, status: 200, substr: `"PolicyRevisionId":"1","LastUpdatedTime":1795608120`},
		{name: "policy: create only again", path: "/PutResourcePolicy", body: `{"PolicyName":"sns","PolicyDocument":` + policyDoc + `,"PolicyRevisionId":"0"}`, status: 400, code: CodeInvalidPolicyRevision, substr: "already exists"},
		{name: "policy: update", path: "/PutResourcePolicy", body: `{"PolicyName":"sns","PolicyDocument":` + policyDoc + `,"PolicyRevisionId":"1"}`, status: 200, substr: `"PolicyRevisionId":"2"`},
		{name: "policy: stale revision", path: "/PutResourcePolicy", body: `{"PolicyName":"sns","PolicyDocument":` + policyDoc + `,"PolicyRevisionId":"1"}`, status: 400, code: CodeInvalidPolicyRevision, substr: "does not match"},
		{name: "policy: not JSON", path: "/PutResourcePolicy", body: `{"PolicyName":"bad","PolicyDocument":"{nope"}`, status: 400, code: CodeMalformedPolicy, substr: "not a JSON object"},
		{name: "policy: too large", path: "/PutResourcePolicy", body: `{"PolicyName":"big","PolicyDocument":"{\"x\":\"` + strings.Repeat("x", 5200) + `\"}"}`, status: 400, code: CodePolicySizeLimit, substr: "at most 5120 bytes"},
		{name: "policy: bad name", path: "/PutResourcePolicy", body: `{"PolicyName":"a b","PolicyDocument":"{}"}`, status: 400, code: CodeInvalidRequest, substr: "'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{name: "policies: one", path: "/ListResourcePolicies", body: `{}`, status: 200, substr: `"PolicyName":"sns"`},
		{name: "policy: delete stale revision", path: "/DeleteResourcePolicy", body: `{"PolicyName":"sns","PolicyRevisionId":"1"}`, status: 400, code: CodeInvalidPolicyRevision},
		{name: "policy: delete", path: "/DeleteResourcePolicy", body: `{"PolicyName":"sns","PolicyRevisionId":"2"}`, status: 200, substr: `{}`},
		{name: "policy: delete no name", path: "/DeleteResourcePolicy", body: `{}`, status: 400, code: CodeInvalidRequest, substr: "'policyName'"},
		// Protocol.
		{name: "protocol: unknown path", path: "/NoSuchOperation", body: `{}`, status: 404, code: CodeUnknownOperation},
		{name: "protocol: malformed JSON", path: "/GetSamplingRules", body: `{"NextToken":`, status: 400, code: CodeInvalidRequest, substr: "not valid JSON"},
		{name: "protocol: array body", path: "/GetSamplingRules", body: `[]`, status: 400, code: CodeInvalidRequest, substr: "must be a JSON object"},
		{name: "protocol: trailing data", path: "/GetSamplingRules", body: `{} {}`, status: 400, code: CodeInvalidRequest, substr: "exactly one JSON object"},
		{name: "protocol: body too large", path: "/CreateGroup", body: `{"GroupName":"` + strings.Repeat("x", 1<<20) + `"}`, status: 413, code: CodeRequestTooLarge},
	}

	var golden bytes.Buffer
	for _, st := range steps {
		resp := hs.post(st.path, st.body)
		if resp.status != st.status || resp.errorType != st.code || !strings.Contains(resp.body, st.substr) {
			t.Errorf("%s: POST %s -> %d %q %s\nwant %d %q containing %q", st.name, st.path, resp.status, resp.errorType, resp.body, st.status, st.code, st.substr)
		}
		if resp.requestID == "" {
			t.Errorf("%s: no x-amzn-RequestId", st.name)
		}
		if st.code != "" {
			var e map[string]any
			if err := json.Unmarshal([]byte(resp.body), &e); err != nil || e["Message"] == nil || e["Message"] != e["message"] {
				t.Errorf("%s: error body %s lacks Message/message", st.name, resp.body)
			}
		}
		body := st.body
		if len(body) > 300 {
			body = body[:300] + fmt.Sprintf("... (%d bytes)", len(st.body))
		}
		fmt.Fprintf(&golden, "### %s\nPOST %s\n%s\n--> %d %s\n%s\n", st.name, st.path, body, resp.status, resp.errorType, strings.TrimSpace(resp.body))
		hs.clk.Add(st.advance)
	}
	checkGolden(t, "operations.golden", golden.Bytes())
}

const policyDoc = `"{\"Version\":\"2012-10-17\",\"Statement\":[]}"`

func tooManyTags() string {
	var tags []string
	for i := range 51 {
		tags = append(tags, fmt.Sprintf(`{"Key":"k%d","Value":"v"}`, i))
	}
	return `{"ResourceARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","Tags":[` + strings.Join(tags, ",") + `]}`
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestRuleLimitExceeded(t *testing.T) {
	hs := newHarness(t, nil)
	for i := range 25 {
		if r := hs.post("/CreateSamplingRule", ruleWith("RuleName", fmt.Sprintf(`"r%02d"`, i))); r.status != 200 {
			t.Fatalf("rule %d: %+v", i, r)
		}
	}
	r := hs.post("/CreateSamplingRule", cruddurRule)
	if r.status != 400 || r.errorType != CodeRuleLimitExceeded || !strings.Contains(r.body, "maximum number of sampling rules") {
		t.Fatalf("26th rule: %+v", r)
	}
}

func TestPaging(t *testing.T) {
	hs := newHarness(t, func(c *Config) { c.PageSize = 2 })
	for _, name := range []string{"a", "b", "c"} {
		if r := hs.post("/CreateGroup", `{"GroupName":"`+name+`"}`); r.status != 200 {
			t.Fatal(r)
		}
	}
	var names []string
	token := ""
	for pages := 0; ; pages++ {
		body := `{}`
		if token != "" {
			body = `{"NextToken":"` + token + `"}`
		}
		r := hs.post("/Groups", body)
		var out struct {
			Groups    []struct{ GroupName string }
			NextToken *string
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != 200 {
			t.Fatalf("%+v %v", r, err)
		}
		for _, g := range out.Groups {
			names = append(names, g.GroupName)
		}
		if out.NextToken == nil {
			if strings.Contains(r.body, "NextToken") {
				t.Fatalf("last page carries NextToken: %s", r.body)
			}
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		token = *out.NextToken
	}
	if strings.Join(names, ",") != "Default,a,b,c" {
		t.Fatalf("paged groups %v", names)
	}
}

func TestEnvironments(t *testing.T) {
	hs := newHarness(t, func(c *Config) { c.DefaultEnv = "" })
	r := hs.post("/GetSamplingRules", `{}`)
	if r.status != http.StatusForbidden || r.errorType != CodeMissingToken || !strings.Contains(r.body, "Missing Authentication Token") {
		t.Fatalf("no env: %+v", r)
	}
	a, b := WithEnv(context.Background(), "a"), WithEnv(context.Background(), "b")
	if r := hs.do(a, http.MethodPost, "/CreateSamplingRule", cruddurRule); r.status != 200 {
		t.Fatal(r)
	}
	ra := hs.do(a, http.MethodPost, "/GetSamplingRules", `{}`)
	rb := hs.do(b, http.MethodPost, "/GetSamplingRules", `{}`)
	if !strings.Contains(ra.body, "Cruddur") || strings.Contains(rb.body, "Cruddur") {
		t.Fatalf("environments leak: a=%s b=%s", ra.body, rb.body)
	}
	if env, ok := EnvFrom(a); !ok || env != "a" {
		t.Fatalf("EnvFrom = %q %v", env, ok)
	}
	if r := hs.do(a, http.MethodGet, "/GetSamplingRules", ``); r.status != 404 || r.errorType != CodeUnknownOperation {
		t.Fatalf("GET: %+v", r)
	}
}

func TestThrottle(t *testing.T) {
	hs := newHarness(t, func(c *Config) {
		c.Allow = func(ctx context.Context, env, op string) bool { return op != "GetSamplingRules" }
	})
	if r := hs.post("/GetSamplingRules", `{}`); r.status != http.StatusTooManyRequests || r.errorType != CodeThrottled {
		t.Fatalf("throttled: %+v", r)
	}
	if r := hs.post("/Groups", `{}`); r.status != 200 {
		t.Fatalf("not throttled: %+v", r)
	}
}

func TestOperationsListed(t *testing.T) {
	hs := newHarness(t, nil)
	ops := hs.h.Operations()
	for _, want := range []string{"CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup", "GetGroups", "CreateSamplingRule",
		"UpdateSamplingRule", "DeleteSamplingRule", "GetSamplingRules", "GetSamplingTargets", "GetSamplingStatisticSummaries",
		"PutTelemetryRecords", "GetEncryptionConfig", "PutEncryptionConfig", "TagResource", "UntagResource", "ListTagsForResource"} {
		found := false
		for _, name := range ops {
			found = found || name == want
		}
		if !found {
			t.Errorf("operation %s not registered", want)
		}
	}
}
