import type { ConditionGroup, Step, WorkflowDefinition } from '../domain/workflow.js';

/**
 * A workflow's steps compiled into a flat program, so a run's `position` stays one integer even
 * with nested branches: a branch step becomes a `branch` instruction whose arms point at their
 * steps laid out inline, and each arm ends with a `jump` past the branch (or to the end when the
 * branch `terminates`). A workflow without branches compiles to exactly its steps, so positions
 * of runs paused before branches existed keep their meaning.
 */
export type Instruction =
  | { kind: 'step'; step: Step }
  | { kind: 'branch'; step: Step; arms: BranchArm[] }
  | { kind: 'jump'; target: number };

export interface BranchArm {
  name: string | null;
  /** null for the default branch. */
  conditions: ConditionGroup | null;
  target: number;
}

interface RawBranch {
  name?: string | null;
  conditions?: ConditionGroup | null;
  steps?: Step[];
  terminates?: boolean | null;
}

const END = -1;

// Programs are derived from immutable workflow versions, so they are cached by definition.
const programs = new WeakMap<Pick<WorkflowDefinition, 'steps'>, Instruction[]>();
export function programOf(def: Pick<WorkflowDefinition, 'steps'>): Instruction[] {
  let program = programs.get(def);
  if (!program) {
    program = compileProgram(def);
    programs.set(def, program);
  }
  return program;
}

export function compileProgram(def: Pick<WorkflowDefinition, 'steps'>): Instruction[] {
  const program: Instruction[] = [];
  const emit = (steps: Step[]) => {
    for (const step of steps) {
      if (step.type !== 'branch') {
        program.push({ kind: 'step', step });
        continue;
      }
      const arms: BranchArm[] = [];
      program.push({ kind: 'branch', step, arms });
      const exits: { kind: 'jump'; target: number }[] = [];
      for (const branch of ((step as { branches?: RawBranch[] }).branches ?? [])) {
        arms.push({ name: branch.name ?? null, conditions: hasConditions(branch.conditions) ? branch.conditions! : null, target: program.length });
        emit(branch.steps ?? []);
        const exit = { kind: 'jump' as const, target: branch.terminates ? END : 0 };
        program.push(exit);
        if (!branch.terminates) exits.push(exit);
      }
      for (const exit of exits) exit.target = program.length;
    }
  };
  emit(def.steps);
  for (const ins of program) if (ins.kind === 'jump' && ins.target === END) ins.target = program.length;
  return program;
}

/** Whether a condition group has any condition (null, `{}` and empty lists have none). */
export function hasConditions(group: ConditionGroup | null | undefined): boolean {
  if (!group || typeof group !== 'object') return false;
  const g = group as { all?: unknown[]; any?: unknown[] };
  return (Array.isArray(g.all) && g.all.length > 0) || (Array.isArray(g.any) && g.any.length > 0);
}
