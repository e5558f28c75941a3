import { useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';

export interface FilterField {
  name: string;
  label: string;
  type?: 'text' | 'select' | 'datetime-local';
  options?: string[];
  placeholder?: string;
}

/**
 * Filters kept in the URL's query string, so a filtered list can be linked to and survives a
 * reload; applied on submit (Enter in any field), not on each keystroke.
 */
export function useFilters(fields: FilterField[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(fields.map((f) => [f.name, params.get(f.name) ?? '']));
  const after = params.get('after') ?? '';
  const apply = (next: Record<string, string>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) p.set(k, v);
    setParams(p);
  };
  const page = (cursor: string) => {
    const p = new URLSearchParams(params);
    if (cursor) p.set('after', cursor); else p.delete('after');
    setParams(p);
  };
  return { values, after, apply, page };
}

export function FilterForm({ fields, values, onApply, label }: { fields: FilterField[]; values: Record<string, string>; onApply: (v: Record<string, string>) => void; label: string }) {
  const [draft, setDraft] = useState(values);
  const serialized = JSON.stringify(values);
  // The URL changed (back button, a link): show its filters.
  useEffect(() => setDraft(values), [serialized]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(Object.fromEntries(Object.entries(draft).map(([k, v]) => [k, v.trim()])));
  };
  const active = Object.values(values).some(Boolean);
  return (
    <form className="filters" onSubmit={submit} role="search" aria-label={label}>
      {fields.map((f) => (
        <label key={f.name} className="field">
          <span>{f.label}</span>
          {f.type === 'select' ? (
            <select name={f.name} value={draft[f.name] ?? ''} onChange={(e) => setDraft({ ...draft, [f.name]: e.target.value })}>
              <option value="">Any</option>
              {(f.options ?? []).map((o) => <option key={o} value={o}>{o.replace(/_/g, ' ')}</option>)}
            </select>
          ) : (
            <input
              name={f.name}
              type={f.type ?? 'text'}
              placeholder={f.placeholder}
              value={draft[f.name] ?? ''}
              onChange={(e) => setDraft({ ...draft, [f.name]: e.target.value })}
            />
          )}
        </label>
      ))}
      <div className="filter-actions">
        <button type="submit" className="btn btn-primary">Filter</button>
        {active ? <button type="button" className="btn btn-quiet" onClick={() => onApply({})}>Clear</button> : null}
      </div>
    </form>
  );
}

/** A `datetime-local` value (local time, no zone) as an ISO instant. */
export const isoFromLocal = (v: string): string | undefined => {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
};
