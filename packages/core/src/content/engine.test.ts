import { describe, expect, it } from 'vitest';
import { TemplateBody } from '../schemas/templates.js';
import { checkTemplateSyntax, DEFAULT_RENDER_LIMITS, RenderBudget, renderTemplate, resolveLocale, templateChannels, TemplateBudgetError, TemplateRenderError } from './engine.js';

const body = TemplateBody.parse({
  default_locale: 'en',
  locales: {
    en: {
      email: {
        subject: 'Order {{ order.id }} shipped',
        text: 'Hi {{ name }}{% if vip %}, our VIP{% endif %}:{% for item in items %}\n- {{ item }}{% endfor %}',
        html: '<p>Hi {{ name }}</p>',
      },
      sms: { text: 'Order {{ order.id }} shipped' },
      webhook: { payload: { order: '{{ order.id }}', tags: ['a-{{ name }}'], count: 3 } },
    },
    pt: { email: { subject: 'Pedido {{ order.id }} enviado', text: 'Olá {{ name }}' } },
  },
});
const data = { name: 'Ada <Lovelace>', vip: true, items: ['book', 'pen'], order: { id: 42 } };

describe('renderTemplate', () => {
  it('renders variables, conditionals and loops', () => {
    const out = renderTemplate(body, 'en', ['email', 'sms'], data);
    expect(out.email).toEqual({
      subject: 'Order 42 shipped',
      text: 'Hi Ada <Lovelace>, our VIP:\n- book\n- pen',
      html: '<p>Hi Ada &lt;Lovelace&gt;</p>',
    });
    expect(out.sms).toEqual({ text: 'Order 42 shipped' });
  });

  it('escapes HTML only in email HTML', () => {
    const out = renderTemplate(body, 'en', ['email'], { ...data, name: '<script>alert(1)</script>' });
    expect(out.email?.html).toBe('<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(out.email?.text).toContain('<script>');
  });

  it('renders every string in a webhook payload, keeping other values', () => {
    expect(renderTemplate(body, 'en', ['webhook'], data).webhook).toEqual({ payload: { order: '42', tags: ['a-Ada <Lovelace>'], count: 3 } });
  });

  it('names each missing variable, and treats an absent if-condition as false', () => {
    try {
      renderTemplate(body, 'en', ['email', 'sms'], { vip: false, items: [] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateRenderError);
      const paths = (err as TemplateRenderError).details.map((d) => d.path);
      expect(paths).toEqual(['template.email.subject', 'template.email.text', 'template.email.html', 'template.sms.text']);
      expect((err as TemplateRenderError).details[0]!.message).toMatch(/undefined variable: order/);
    }
    expect(renderTemplate(body, 'en', ['sms'], { order: { id: 1 } }).sms?.text).toBe('Order 1 shipped');
  });

  it('takes a channel the locale lacks from the default locale, and refuses a channel no locale has', () => {
    const out = renderTemplate(body, 'pt', ['email', 'sms'], data);
    expect(out.email?.subject).toBe('Pedido 42 enviado');
    expect(out.sms?.text).toBe('Order 42 shipped');
    expect(() => renderTemplate(body, 'en', ['push'], data)).toThrow(/no push content/);
  });

  it('stops a template that renders too long', () => {
    const heavy = TemplateBody.parse({ locales: { en: { sms: { text: '{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}' } } } });
    expect(() => renderTemplate(heavy, 'en', ['sms'], {})).toThrow(TemplateRenderError);
  });
});

describe('checkTemplateSyntax', () => {
  it('names every field that does not parse', () => {
    const bad = TemplateBody.parse({ locales: { en: { sms: { text: '{% if x %}' } }, de: { push: { title: '{{ x | nope }}', body: 'ok' } } } });
    expect(() => checkTemplateSyntax(bad)).toThrow(TemplateRenderError);
    try {
      checkTemplateSyntax(bad);
    } catch (err) {
      expect((err as TemplateRenderError).details.map((d) => d.path)).toEqual(['locales.en.sms.text', 'locales.de.push.title']);
    }
    expect(() => checkTemplateSyntax(body)).not.toThrow();
  });
});

describe('resolveLocale', () => {
  it("tries the user's locale, then its language, then the default", () => {
    expect(resolveLocale(['en', 'pt', 'pt-BR'], 'pt-BR', 'en')).toBe('pt-BR');
    expect(resolveLocale(['en', 'pt'], 'pt-BR', 'en')).toBe('pt');
    expect(resolveLocale(['en', 'pt'], 'de-AT', 'en')).toBe('en');
    expect(resolveLocale(['en', 'pt'], null, 'en')).toBe('en');
    expect(resolveLocale(['en', 'PT'], 'pt-br', 'en')).toBe('PT');
  });
});

describe('templateChannels', () => {
  it('lists the channels any locale has', () => {
    expect(templateChannels(body).sort()).toEqual(['email', 'sms', 'webhook']);
  });
});

describe('the sandbox', () => {
  const one = (text: string) => TemplateBody.parse({ locales: { en: { sms: { text } } } });

  it.each(['include', 'render', 'layout'])('refuses the %s tag at parse time, also inside a liquid tag', (tag) => {
    for (const source of [`{% ${tag} '.env' %}`, `{% liquid\n${tag} '.env'\n%}`]) {
      expect(() => checkTemplateSyntax(one(source))).toThrow(`the ${tag} tag is not allowed`);
    }
  });

  it('stops output at the field cap and at the request total, counting UTF-8 bytes', () => {
    const limits = { ...DEFAULT_RENDER_LIMITS, fieldBytes: 1000, totalBytes: 2500 };
    const budget = new RenderBudget(limits);
    expect(renderTemplate(one('{% for i in (1..250) %}é{% endfor %}'), 'en', ['sms'], {}, budget).sms?.text).toHaveLength(250);
    // 600 characters but 1,200 bytes: over the field cap.
    expect(() => renderTemplate(one('{% for i in (1..600) %}é{% endfor %}'), 'en', ['sms'], {}, budget)).toThrow(
      expect.objectContaining({ kind: 'output_too_large', details: [{ path: 'template.sms.text', message: expect.stringContaining('1000 bytes') }] }),
    );
    // A request's fields together: 900 + 900 bytes pass, a third 900 is over the 2,500 total.
    const total = new RenderBudget(limits);
    renderTemplate(one('{% for i in (1..900) %}x{% endfor %}'), 'en', ['sms'], {}, total);
    renderTemplate(one('{% for i in (1..900) %}x{% endfor %}'), 'en', ['sms'], {}, total);
    expect(() => renderTemplate(one('{% for i in (1..900) %}x{% endfor %}'), 'en', ['sms'], {}, total)).toThrow(
      expect.objectContaining({ kind: 'output_too_large', details: [{ path: 'template.sms.text', message: expect.stringContaining('2500 bytes in all') }] }),
    );
    expect(TemplateBudgetError.prototype).toBeInstanceOf(TemplateRenderError);
  });

  it('shares Liquid memory and time between every render of one budget', () => {
    const budget = new RenderBudget({ ...DEFAULT_RENDER_LIMITS, memory: 25_000 });
    const ranges = one('{% for i in (1..10000) %}{% endfor %}');
    renderTemplate(ranges, 'en', ['sms'], {}, budget);
    renderTemplate(ranges, 'en', ['sms'], {}, budget);
    expect(() => renderTemplate(ranges, 'en', ['sms'], {}, budget)).toThrow(expect.objectContaining({ kind: 'too_expensive' }));
    expect(renderTemplate(ranges, 'en', ['sms'], {}, new RenderBudget({ ...DEFAULT_RENDER_LIMITS, memory: 25_000 })).sms?.text).toBe('');
  });
});
