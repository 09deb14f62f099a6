// Package xrayfilter owns the AWS X-Ray filter-expression language: the lexer,
// the parser to a typed AST, the printer, the evaluator over a trace view
// defined here, and the extraction of pushdown hints for a store.
//
// The grammar (keywords, AND, OR and NOT are case-insensitive; adjacent
// predicates are joined by AND; && and || are accepted):
//
//	expr   := or
//	or     := and { (OR | "||") and }
//	and    := not { [AND | "&&"] not }
//	not    := ("!" | NOT) not | atom
//	atom   := "(" expr ")" | pred
//	pred   := BOOLKW [("=" | "!=") (true | false)]
//	        | NUMKW NUMOP NUMBER
//	        | STRKW [STROP VALUE]
//	        | annotation.KEY [OP VALUE] | annotation[KEY] [OP VALUE]
//	        | service "(" [target] ")" ["{" expr "}"]
//	        | edge "(" target "," target ")" ["{" expr "}"]
//	        | (group.name | group.arn) "=" VALUE
//	        | rootcause.(fault|error).(service|entity|exception) "{" expr "}"
//	        | rootcause.responsetime.(service|entity) "{" expr "}"
//	        | rootcause.json "=" "#" JSONARRAY
//	target := VALUE | id "(" k ":" VALUE {"," k ":" VALUE} ")"   k: name, type, account.id
//	VALUE  := "string" | bare-identifier
//	NUMOP  := = != < <= > >=     STROP := = != CONTAINS BEGINSWITH ENDSWITH
//
// Parse checks each keyword against where it appears (for example root only
// inside service braces, annotations only at the top level, coverage only in
// rootcause.responsetime braces) and against the type of the value it is
// compared with, so that every mistake is reported as a *SyntaxError with a
// byte offset, a line and a column.
//
// Evaluation (Expr.Match) works on Trace (internal/xrayview's view of a
// trace, which also draws the per-trace service graph), a flat list of
// segments and subsegments with the fields the language reads, and never
// panics on missing fields: a comparison with a field the trace lacks is
// false (an empty string, a zero status, an unfinished segment's times),
// and its negation true.
//
// At the top level:
//   - ok, error, fault, throttle, responsetime (end − start) and http.* read
//     the root segment: the earliest segment document without a parent in the
//     trace;
//   - duration is max end − min start over all (sub)segments;
//   - partial: a (sub)segment is in progress, a subsegment's parent is
//     missing, or Trace.Partial is set; inferred: the graph has an inferred
//     node;
//   - user, availabilityzone, instance.id, resource.arn and annotation.K hold
//     when some (sub)segment's value satisfies the comparison (annotations
//     compare only values of the same type: numbers with numbers, strings with
//     strings, booleans with booleans);
//   - service(t){f} holds when some node of the trace's service graph matches
//     t (by name, or by the keys given to id()) and f holds on one of that
//     node's segments; the graph has a node per (segment name, origin,
//     account), an inferred node per aws, remote or sql subsegment that no
//     segment continues (named by its DynamoDB table if any, typed AWS::Name,
//     AWS::DynamoDB::Table, remote or Database::SQL) and a client node per
//     root segment; inside the braces root, inferred, name and type describe
//     the node and the other keywords the segment (for an inferred node, the
//     calling subsegment);
//   - edge(a,b){f} holds when a node matching a calls a node matching b and f
//     holds on the calling (sub)segment;
//   - group.name and group.arn evaluate the group's expression, found through
//     a GroupResolver;
//   - rootcause.K.service, .entity and .exception hold when some service,
//     entity or exception of Trace.RootCauses' list K satisfies the braces,
//     where first, last and index give the position in the service list or
//     entity path, remote and coverage come from the entity, inferred, name
//     and type from the service, name and message from the exception;
//     rootcause.json partially matches the lists rendered as the X-Ray API
//     renders them.
//
// Expr.Hints extracts necessary conditions (names, annotation keys, response
// time and duration ranges) that a store can check before loading a trace.
package xrayfilter
