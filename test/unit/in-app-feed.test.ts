import { describe, expect, it } from 'vitest';
import { renderInAppFeed } from '../../src/templates/in-app-feed.js';
import { TemplateRenderError, renderString } from '../../src/templates/liquid.js';

const scope = {
  data: { project: 'Apollo', url: 'https://app.example.com/projects/42', items: [{ id: 1 }, { id: 2 }] },
  recipient: { id: 'user_1', name: 'Ann' },
  actor: { id: 'user_2', name: 'Bob' },
  tenant: null,
  vars: { app_name: 'Herald' },
  workflow: { key: 'comment-created' },
};

describe('renderInAppFeed', () => {
  it('renders the markdown body with Liquid, then to HTML', async () => {
    const [body] = await renderInAppFeed({ markdown_body: '**{{ actor.name }}** commented on {{ data.project }}' }, scope);
    expect(body).toEqual({
      name: 'body',
      type: 'markdown',
      content: '**Bob** commented on Apollo',
      rendered: '<p><strong>Bob</strong> commented on Apollo</p>',
    });
  });

  it('adds an action_url text block when the template has one', async () => {
    const blocks = await renderInAppFeed({ markdown_body: 'Hi', action_url: '{{ data.url }}' }, scope);
    expect(blocks[1]).toEqual({ name: 'action_url', type: 'text', content: scope.data.url, rendered: scope.data.url });
  });

  it('omits the action_url block when there is none', async () => {
    const blocks = await renderInAppFeed({ markdown_body: 'Hi', action_url: null }, scope);
    expect(blocks.map((b) => b.name)).toEqual(['body']);
  });

  it('renders action buttons as a button_set named primary and secondary', async () => {
    const blocks = await renderInAppFeed(
      {
        markdown_body: 'Review requested',
        action_buttons: [
          { label: 'Open {{ data.project }}', action: '{{ data.url }}' },
          { label: 'Dismiss', action: '/dismiss' },
        ],
      },
      scope,
    );
    expect(blocks[1]).toEqual({
      name: 'actions',
      type: 'button_set',
      buttons: [
        { name: 'primary', label: 'Open Apollo', action: 'https://app.example.com/projects/42' },
        { name: 'secondary', label: 'Dismiss', action: '/dismiss' },
      ],
    });
  });

  it('renders missing variables as empty text', async () => {
    const [body] = await renderInAppFeed({ markdown_body: 'Hello {{ recipient.nickname }}!' }, scope);
    expect(body).toMatchObject({ content: 'Hello !' });
  });

  it('throws a TemplateRenderError naming the field on a Liquid syntax error', async () => {
    const render = renderInAppFeed({ markdown_body: 'ok', action_buttons: [{ label: '{% if %}', action: '/x' }] }, scope);
    await expect(render).rejects.toThrow(TemplateRenderError);
    await expect(render).rejects.toMatchObject({ field: 'action_buttons[0].label', message: expect.stringContaining('Could not render action_buttons[0].label') });
  });
});

describe('renderString', () => {
  it('offers a json filter producing compact JSON', async () => {
    expect(await renderString('{{ data.items | json }}', scope)).toBe('[{"id":1},{"id":2}]');
  });

  it('renders json of an undefined value as null', async () => {
    expect(await renderString('{{ data.nothing | json }}', scope)).toBe('null');
  });

  it('cannot read files through include', async () => {
    await expect(renderString("{% include 'package.json' %}", scope)).rejects.toThrow(TemplateRenderError);
  });
});

describe('in-app feed rendering keeps data from injecting markup', () => {
  it('escapes HTML that arrives through Liquid variables but keeps the author\'s own HTML', async () => {
    const blocks = await renderInAppFeed(
      { markdown_body: '<em>New</em> comment: {{ data.comment }}', action_url: 'https://x.example/?a=1&b={{ data.id }}' },
      { data: { comment: '<img src=x onerror=alert(1)> & more', id: 7 } },
    );
    const body = blocks.find((b) => b.name === 'body') as { rendered: string };
    expect(body.rendered).toContain('<em>New</em>');
    expect(body.rendered).not.toContain('<img');
    expect(body.rendered).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const url = blocks.find((b) => b.name === 'action_url') as { rendered: string };
    expect(url.rendered).toBe('https://x.example/?a=1&b=7');
  });
});
