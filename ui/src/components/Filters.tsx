import { MenuToggle, SearchInput, Select, SelectList, SelectOption, ToolbarFilter } from '@patternfly/react-core';
import { useState } from 'react';

export interface Option {
  value: string;
  label: string;
}

/**
 * A single-choice filter: a select whose choice shows as a removable label
 * in the toolbar. '' is "any".
 */
export function FilterSelect({
  name,
  value,
  options,
  onChange,
}: {
  /** What is filtered, "Severity": the toggle's and the label group's name. */
  name: string;
  value: string;
  options: Option[];
  onChange: (value: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const chosen = options.find((o) => o.value === value);
  return (
    <ToolbarFilter
      categoryName={name}
      labels={value ? [chosen?.label ?? value] : []}
      deleteLabel={() => onChange('')}
      deleteLabelGroup={() => onChange('')}
    >
      <Select
        isOpen={open}
        onOpenChange={setOpen}
        selected={value}
        onSelect={(_e, v) => {
          onChange(String(v ?? ''));
          setOpen(false);
        }}
        toggle={(ref) => (
          <MenuToggle ref={ref} onClick={() => setOpen((o) => !o)} isExpanded={open} aria-label={`Filter by ${name.toLowerCase()}`}>
            {name}: {chosen?.label ?? (value || 'Any')}
          </MenuToggle>
        )}
      >
        <SelectList aria-label={name}>
          <SelectOption value="">Any</SelectOption>
          {options.map((o) => (
            <SelectOption key={o.value} value={o.value}>
              {o.label}
            </SelectOption>
          ))}
        </SelectList>
      </Select>
    </ToolbarFilter>
  );
}

/**
 * A filter that is set from a link (a deployment, a category, a policy) and
 * has no control of its own: it shows as a removable label.
 */
export function LinkedFilter({ name, value, display, onClear }: { name: string; value: string; display?: string; onClear: () => void }) {
  return (
    <ToolbarFilter
      categoryName={name}
      labels={value ? [display || value] : []}
      deleteLabel={onClear}
      deleteLabelGroup={onClear}
      showToolbarItem={false}
    >
      {null}
    </ToolbarFilter>
  );
}

/**
 * Free-text search, applied on Enter or the search button. It starts from
 * value; give it key={value} so that it follows changes of the URL.
 */
export function SearchFilter({ value, placeholder, onSearch }: { value: string; placeholder: string; onSearch: (value: string) => void }) {
  const [text, setText] = useState(value);
  return (
    <ToolbarFilter
      categoryName="Search"
      labels={value ? [value] : []}
      deleteLabel={() => onSearch('')}
      deleteLabelGroup={() => onSearch('')}
    >
      <SearchInput
        aria-label={placeholder}
        placeholder={placeholder}
        value={text}
        onChange={(_e, v) => setText(v)}
        onSearch={(_e, v) => onSearch(v.trim())}
        onClear={() => {
          setText('');
          onSearch('');
        }}
      />
    </ToolbarFilter>
  );
}
