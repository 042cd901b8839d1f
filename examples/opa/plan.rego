# Rego checks on a module-reconciler plan (`reconciler plan --format json`, documented by
# schemas/plan.schema.json), for teams that already run OPA or conftest on Terraform plans.
#
#   reconciler plan --format json > plan.json
#   conftest test --policy examples/opa plan.json
#   opa eval --fail-defined -d examples/opa/plan.rego -i plan.json 'data.main.deny[msg]'
#
# conftest reads `deny` (fails) and `warn` (reported) in package main.
package main

import rego.v1

# Modules the business runs on: a plan may enable or update them, never disable them.
critical_modules := {"billing", "questionnaire-engine"}

# Most clients one plan may change before a second reviewer is asked for.
max_clients_changed := 3

deny contains msg if {
	some client in input.clients
	some change in client.changes
	change.kind == "disable"
	not change.informational
	change.module in critical_modules
	msg := sprintf("%s (%s): disables critical module %s", [client.name, client.file, change.module])
}

# The reconciler's own policies (policies/*.yaml) that deny, for one conftest report.
deny contains msg if {
	some violation in object.get(input, "policy_violations", [])
	violation.effect == "deny"
	msg := sprintf("%s: policy %s: %s", [violation.client_name, violation.policy, violation.message])
}

warn contains msg if {
	input.summary.clients_changed > max_clients_changed
	msg := sprintf(
		"plan changes %d clients (more than %d): ask a second reviewer, or split it with --client or --shard",
		[input.summary.clients_changed, max_clients_changed],
	)
}

# Settings the reconciler marks sensitive change without their values shown: say so.
warn contains msg if {
	some client in input.clients
	some change in client.changes
	change.sensitive
	not change.informational
	msg := sprintf("%s: a sensitive setting of %s changes (values not shown)", [client.name, change.module])
}
