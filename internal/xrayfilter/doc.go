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
// Evaluation (Expr.Match) works on Trace, a flat list of segments and
// subsegments with the fields the language reads, and never panics on missing
// fields: a comparison with a field the trace lacks is false, and its negation
// true. Trace-level keywords read the root segment (ok, error, fault,
// throttle, responsetime, http.*) or any segment (user, availabilityzone,
// instance.id, resource.arn, annotations); service(t){f} holds when some
// service-graph node matches t and f holds on one of that node's segments;
// edge(a,b){f} holds when some call from a to b has a caller subsegment on
// which f holds.
package xrayfilter
