import { formatDefault, listSettings } from '@local-cluster/core';

/** The config table of docs/user/configuration.md, generated from the schema. */
export function configTableMarkdown(): string {
  const rows = listSettings().map((s) => {
    const type =
      s.type === 'enum' ? s.choices!.join(' \\| ') : s.type === 'list' ? 'comma-separated list' : s.type === 'map' ? 'map (KEY=VALUE,...)' : s.type === 'structured' ? 'see below' : s.type;
    const flag = !s.flag ? 'file only' : `\`${s.type === 'boolean' ? `--${s.flag}` : `--${s.flag} ${s.placeholder ?? 'VALUE'}`}\``;
    const env = s.env ? `\`${s.env}\`` : '';
    return `| \`${s.path}\` | ${flag} | ${env} | ${type} | ${formatDefault(s)} | ${s.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| Setting | Flag | Environment | Type | Default | Description |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
