// The runbook text each generated alert carries in its `runbook` annotation: what to look at first, then what to do.

/** What every runbook shares: where the service's own view of its health is, and how to put the last model back. */
const LOOK =
  'Look: `npx shipshape health --url $URL` (or `GET /v1/health`) prints every check with its value';
const ROLLBACK =
  'Roll back a model swapped in recently: put the previous bundle back in the `--bundle` directory (flip the ' +
  'symlink), then `curl -X POST -H "Authorization: Bearer $SHIPSHAPE_ADMIN_TOKEN" $URL/admin/reload` (or send ' +
  'SIGHUP); the new model serves only after its parity proof passes, and a 409 SWAP_REFUSED keeps the current one ' +
  'serving with the reason in the server log. On Workers: `npx wrangler rollback`.';

function steps(...lines: string[]): string {
  return lines.map((line, i) => `${i + 1}. ${line}`).join('\n');
}

export const RUNBOOKS = {
  availability: steps(
    `${LOOK}; \`sum by (code) (rate(shipshape_errors_total[5m]))\` says which error codes the 5xx carry.`,
    '503 OVERLOADED is load shedding: the service is short of capacity. Add replicas or `--workers`; raise ' +
      'SHIPSHAPE_MAX_QUEUED_TEXTS only if the latency SLO has room.',
    'MODEL_UNAVAILABLE, BACKEND_FAILED or NOT_READY point at the model or its backend: the server log (JSON lines, ' +
      '`"level":"error"`) has the cause.',
    ROLLBACK,
    'The alert resolves by itself once its short window is clean; a ticket-level burn that persists needs a fix ' +
      'before the 30-day budget runs out.',
  ),
  latency: steps(
    `${LOOK}. In Prometheus compare \`shipshape_queue_wait_seconds\` with \`shipshape_inference_duration_seconds\` ` +
      'and `shipshape_inference_batch_size`.',
    'Queue wait up, inference flat: saturation. Add replicas or `--workers`; a lower SHIPSHAPE_MAX_QUEUE_WAIT_MS ' +
      'sheds load (503) instead of queueing it.',
    'Inference duration up: a slower model or longer texts. Check the length_drift check and a recent model swap.',
    ROLLBACK,
    'Re-measure against the SLA from outside: `npx shipshape bench --url $URL --quick`.',
  ),
  oov: steps(
    `${LOOK}; \`checks.oov_rate\` has the observed rate, its lower bound and the bundle's reference rate.`,
    'Sample recent inputs: another language, a new topic, damaged encoding (mojibake) or a client that changed ' +
      'its text cleaning all raise the unknown-token rate. ' +
      '`echo "TEXT" | npx shipshape tokenize --bundle DIR --tokens` shows the tokens the model sees; those missing ' +
      "from the bundle's vocab.txt are unknown to it.",
    'Broken client input: fix the client. A vocabulary changed by a recent model swap: roll back (POST ' +
      '/admin/reload with the previous bundle in place).',
    'Traffic that really changed: retrain on recent data (`npm run train`), then release through `shipshape gate`.',
  ),
  drift: steps(
    `${LOOK}; the drift check's stats give the Jensen-Shannon distance and PSI against the bundle's reference.`,
    "Compare `sum by (label) (rate(shipshape_predictions_total[1h]))` with the manifest's " +
      '`reference.labelDistribution`, and the token-length mix with `reference.tokenLength`; the dashboard ' +
      '(`/dashboard`) charts both.',
    'A recent model swap: roll back (previous bundle in place, then POST /admin/reload). A shift in what users ' +
      'send (a news event, a new client, texts far longer than training): check the accuracy alerts; if accuracy ' +
      'holds, raise the threshold with `--health-config`; if not, retrain on recent data.',
  ),
  accuracy: steps(
    `${LOOK}; \`checks.accuracy\` counts the feedback it judged, \`checks.estimated_accuracy\` the confidence-based ` +
      'estimate.',
    'Check the labels first: a change in who labels feedback, or in the label names, lowers measured accuracy ' +
      'without the model changing (`rate(shipshape_feedback_total[1h])` by outcome).',
    'The drift and OOV alerts usually say why the model got worse. A recent model swap: roll back (previous ' +
      'bundle in place, then POST /admin/reload).',
    'Otherwise retrain on recent labelled data (`npm run train`) and release through `shipshape gate`.',
  ),
  healthCheck: steps(
    `${LOOK}; the named check's \`detail\` says what was measured, against what.`,
    'The monitor judged it over its own window (`windows.qualitySeconds`) with its sample-size test, and logged ' +
      'one `{"level":"warn","event":"alert"}` line when it turned bad.',
    'truncation_rate: texts longer than the model reads (`preprocessing.maxLen` tokens) are cut; find the client ' +
      'sending whole documents, or retrain with a longer maxLen.',
    ROLLBACK,
  ),
} as const;
