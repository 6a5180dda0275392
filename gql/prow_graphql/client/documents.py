"""The GraphQL documents the CLI sends (the API it relies on, in one place)."""

PROW_JOB_FIELDS = """
fragment ProwJobFields on ProwJob {
  name job type state buildId url statusLink logLink description
  startTime completionTime durationSeconds
  refs { org repo baseRef pulls { number sha } }
}
"""

TRIGGER = (
    """
mutation Trigger($input: TriggerJobInput!, $withManifest: Boolean!) {
  triggerJob(input: $input) {
    __typename
    ... on TriggerJobSuccess {
      dryRun statusLink logLink
      manifest @include(if: $withManifest)
      prowJob { ...ProwJobFields }
    }
    ... on Error { message }
    ... on InvalidInput { field reason }
    ... on AmbiguousJob { candidates }
  }
}
"""
    + PROW_JOB_FIELDS
)

FOLLOW = (
    """
subscription Follow($name: String!) {
  prowJobUpdated(name: $name) { ...ProwJobFields }
}
"""
    + PROW_JOB_FIELDS
)

LOG = """
subscription Log($name: String!, $container: String!) {
  prowJobLog(name: $name, container: $container) { kind lines message storedLogUrl }
}
"""

_JOB_DEFINITION_FIELDS = """
fragment RepoJobs on Repo {
  org repo
  presubmits { ...JobFields }
  postsubmits { ...JobFields }
}
fragment JobFields on JobDefinition {
  name type branches skipBranches alwaysRun optional runIfChanged context
  cron interval minimumInterval
}
"""

REPO_JOBS = (
    """
query RepoJobs($org: String!, $repo: String!) {
  repo(org: $org, repo: $repo) { ...RepoJobs }
}
"""
    + _JOB_DEFINITION_FIELDS
)

ALL_JOBS = (
    """
query AllJobs {
  repos { ...RepoJobs }
  periodics { org repo ...JobFields }
}
"""
    + _JOB_DEFINITION_FIELDS
)
