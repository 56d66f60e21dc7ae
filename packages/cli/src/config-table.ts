import { formatDefault, listSettings } from '@local-cluster/core';

/** The README's config table, generated from the schema. */
export function configTableMarkdown(): string {
  const rows = listSettings().map((s) => {
    const type = s.type === 'enum' ? s.choices!.join(' \\| ') : s.type === 'list' ? 'comma-separated list' : s.type;
    const flag = s.type === 'boolean' ? `--${s.flag}` : `--${s.flag} ${s.placeholder ?? 'VALUE'}`;
    return `| \`${s.path}\` | \`${flag}\` | \`${s.env}\` | ${type} | ${formatDefault(s)} | ${s.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| Setting | Flag | Environment | Type | Default | Description |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
