import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';

/** One text field kept in the URL (`?<name>=`), for pages that look one thing up by key or id. */
export function useLookup(name: string): [string, (v: string) => void] {
  const [params, setParams] = useSearchParams();
  return [params.get(name) ?? '', (v) => setParams(v ? { [name]: v } : {})];
}

export function LookupForm({ name, label, value, onSubmit, placeholder, children }: {
  name: string; label: string; value: string; onSubmit: (v: string) => void; placeholder?: string; children?: React.ReactNode;
}) {
  const [draft, setDraft] = useState(value);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit(draft.trim());
  };
  return (
    <form className="filters" role="search" aria-label={label} onSubmit={submit}>
      {children ?? (
        <label className="field"><span>{label}</span><input name={name} value={draft} placeholder={placeholder} onChange={(e) => setDraft(e.target.value)} /></label>
      )}
      <div className="filter-actions"><button type="submit" className="btn btn-primary">Show</button></div>
    </form>
  );
}
