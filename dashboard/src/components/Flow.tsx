import type { StepSummary } from '../types';

/**
 * A workflow's steps drawn top to bottom, as boxes joined by a line; a branch step fans out
 * into side-by-side columns, one per branch, each with its own steps (nested as deep as the
 * workflow is). Plain HTML and CSS: an ordered list reads correctly without the drawing too.
 */
export function Flow({ steps, label }: { steps: StepSummary[]; label?: string }) {
  if (steps.length === 0) return <p className="muted">No steps.</p>;
  return (
    <ol className="flow" aria-label={label}>
      {steps.map((step) => (
        <li key={step.ref} className={`flow-step step-${step.type}`} data-step-ref={step.ref}>
          <div className="flow-box">
            <span className="flow-type">{stepTypeLabel(step)}</span>
            <span className="flow-ref">{step.name || step.ref}</span>
            {step.channel_key ? <span className="flow-channel">{step.channel_key}</span> : null}
          </div>
          {step.branches && step.branches.length > 0 ? (
            <div className="flow-branches">
              {step.branches.map((branch, i) => (
                <div className="flow-branch" key={branch.key ?? i}>
                  <div className="flow-branch-name">{branch.name || branch.key || `Branch ${i + 1}`}{branch.terminates ? ' (ends the run)' : ''}</div>
                  <Flow steps={branch.steps ?? []} label={`Steps of branch ${branch.name || branch.key || i + 1}`} />
                </div>
              ))}
            </div>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function stepTypeLabel(step: StepSummary): string {
  if (step.type === 'channel') return 'channel';
  return step.type.replace(/_/g, ' ');
}

/** Every step of a workflow, branches included, in order. */
export function flattenSteps(steps: StepSummary[]): StepSummary[] {
  return steps.flatMap((s) => [s, ...(s.branches ?? []).flatMap((b) => flattenSteps(b.steps ?? []))]);
}
