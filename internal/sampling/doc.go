// Package sampling owns the X-Ray control-plane state of every environment:
// centralized sampling rules (with the undeletable Default rule), the
// statistics SDK instances report and the targets computed from them
// (GetSamplingTargets), X-Ray groups, resource tags, resource policies
// (stored, not enforced), the encryption configuration, and Transaction
// Search's trace segment destination and indexing rule (which traces
// X-Ray's trace views index: Indexing). Groups, tags, policies, encryption
// and indexing live here rather than in a package of their own
// because they share the per-environment persistence: one JSON document per
// environment in the state store (kind xray.config), written with its
// version checked, so that several processes or nodes never lose each
// other's changes, and reread when Watch hears that it changed.
//
// Statistics live in the state store too (kinds xray.sampling-client and
// xray.sampling-window), written in one transaction per GetSamplingTargets
// call, so that a rule's reservoir is split among every instance that
// reports to any node sharing the store, as X-Ray splits it across a
// fleet.
//
// All limits are those of the X-Ray service model (botocore 2016-04-12);
// violations are reported as *Error values whose Kind tells the API layer
// which X-Ray error code to send. Time comes from Config.Now only.
package sampling
