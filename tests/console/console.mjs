// The console's browser walk: Playwright drives Debian's Chromium (no downloaded browser) through
// sign-in, the Requests tab, a request's explanation, cancel, review, an entity's state, axe-core's
// accessibility check, an XSS title and another seller's URLs. Run by console_test.py.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright';
import * as axeModule from '@axe-core/playwright';

const AxeBuilder = axeModule.AxeBuilder || axeModule.default?.AxeBuilder || axeModule.default;
const config = JSON.parse(process.argv[2]);
const base = config.endpoint;
const failures = [];
const pageSizes = {};

function check(what, ok, detail = '') {
  console.log((ok ? 'ok   ' : 'FAIL ') + what + (ok ? '' : ': ' + detail));
  if (!ok) failures.push(what);
}

// A signed API call through api.py (botocore's SigV4), as the CLI would send it.
function api(who, method, apiPath, body) {
  const key = config.keys[who];
  const args = [...config.api.slice(1), key.id, key.secret, method, apiPath];
  if (body !== undefined) args.push(JSON.stringify(body));
  const out = JSON.parse(execFileSync(config.api[0], args, { encoding: 'utf8' }));
  if (out.status !== 200) throw new Error(`${method} ${apiPath}: ${out.status} ${JSON.stringify(out.body)}`);
  return out.body;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(config.artifacts, name + '.png'), fullPage: true });
}

// axe-core on the page as it stands: no serious or critical violation.
async function accessible(page, name) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(`axe: no serious or critical violations on ${name}`, bad.length === 0,
        bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('; '));
}

async function visit(page, url, name) {
  const response = await page.goto(base + url);
  const body = await response.body();
  pageSizes[name] = body.length;
  check(`${name} is under 200 KB (${body.length} bytes)`, body.length < 200 * 1024);
  return response;
}

async function signIn(context, who) {
  const page = await context.newPage();
  await page.goto(base + '/console/requests');
  check(`${who}: an unsigned visit is sent to the sign-in page`, page.url().includes('/console/sign-in'), page.url());
  await page.getByLabel('Access key ID').fill(config.keys[who].id);
  await page.getByLabel('Secret access key').fill(config.keys[who].secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/console/requests');
  check(`${who}: signed in as ${config.keys[who].actor}`,
        (await page.locator('header .who b').textContent()) === config.keys[who].actor);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'sf_session');
  check(`${who}: the session cookie is HttpOnly, SameSite=Strict, Path=/console`,
        session && session.httpOnly && session.sameSite === 'Strict' && session.path === '/console',
        JSON.stringify(session));
  return page;
}

const browser = await chromium.launch({ executablePath: config.chromium, headless: true,
                                         args: ['--no-sandbox'] });
try {
  // ---- The seller.
  const sellerContext = await browser.newContext({ timezoneId: 'Europe/Paris' });
  const seller = await signIn(sellerContext, 'seller');
  await shot(seller, '01-requests');
  await accessible(seller, 'the Requests tab');
  check('the Requests tab shows local time beside UTC',
        (await seller.locator('span.local').count()) > 0);

  // A wrong secret is refused.
  {
    const page = await browser.newPage();
    await page.goto(base + '/console/sign-in');
    await page.getByLabel('Access key ID').fill(config.keys.seller.id);
    await page.getByLabel('Secret access key').fill('not-the-secret');
    const [response] = await Promise.all([page.waitForResponse('**/console/sign-in'),
                                           page.getByRole('button', { name: 'Sign in' }).click()]);
    check('a wrong secret is refused (401)', response.status() === 401, response.status());
    await shot(page, '00-sign-in-refused');
    await page.close();
  }

  // Submitted through the API, the request shows on the Requests tab.
  const restrict = api('seller', 'POST', '/StartChangeSet', config.restrict).ChangeSetId;
  await visit(seller, '/console/requests', 'the Requests tab');
  const row = seller.locator('tr', { has: seller.locator(`a[href="/console/requests/${restrict}"]`) });
  check('the request submitted through the API is on the Requests tab', (await row.count()) === 1);
  check('it shows its change type and PREPARING',
        (await row.textContent()).includes('UpdateVisibility') && (await row.textContent()).includes('PREPARING'),
        await row.textContent());
  // Filters: FAILED shows the failed request and not the new one.
  await visit(seller, '/console/requests?status=FAILED', 'the Requests tab filtered');
  check('the status filter keeps the failed request',
        (await seller.locator(`a[href="/console/requests/${config.failed}"]`).count()) === 1 &&
        (await seller.locator(`a[href="/console/requests/${restrict}"]`).count()) === 0);

  // The failed request's explanation.
  await visit(seller, '/console/requests/' + config.failed, 'a failed request');
  const explain = await seller.locator('.explain').first().textContent();
  check('the failed rule is named with its position', explain.includes('categories_known') &&
        /product_information\.rules:\d+/.test(explain), explain);
  check('the clause and its values are shown', explain.includes('c in KNOWN_CATEGORIES') &&
        explain.includes('"Migraton"'), explain);
  check('the request machine is drawn, the path taken highlighted',
        (await seller.locator('figure.machine svg').count()) > 0 &&
        (await seller.locator('figure.machine svg [stroke="#1565c0"]').count()) > 0);
  await shot(seller, '02-failed-request');
  await accessible(seller, 'a failed request');

  // Cancel, by the keyboard: the focused button is pressed with Enter.
  await visit(seller, '/console/requests/' + restrict, 'an open request');
  await shot(seller, '03-open-request');
  await seller.getByRole('button', { name: 'Cancel request' }).focus();
  await Promise.all([seller.waitForURL('**/console/requests/' + restrict), seller.keyboard.press('Enter')]);
  await seller.waitForLoadState();
  check('cancelling says so', (await seller.locator('.flash').textContent()).includes('Cancel'));
  const restrictStatus = api('seller', 'GET', '/DescribeChangeSet?catalog=AWSMarketplace&changeSetId=' + restrict).Status;
  check('the cancelled request is CANCELLED through the API too', restrictStatus === 'CANCELLED', restrictStatus);
  await shot(seller, '04-cancelled');

  // A POST without the session's CSRF token is refused and does nothing.
  const pub = api('seller', 'POST', '/StartChangeSet', config.public).ChangeSetId;
  const forged = await seller.request.post(base + `/console/requests/${pub}/cancel`, { form: { csrf: 'forged' } });
  check('a POST without the CSRF token is refused (403)', forged.status() === 403, forged.status());
  const forgedOrigin = await seller.request.post(base + `/console/requests/${pub}/cancel`,
    { form: { csrf: await seller.locator('input[name=csrf]').first().inputValue() },
      headers: { Origin: 'http://evil.example' } });
  check('a POST from another origin is refused (403)', forgedOrigin.status() === 403, forgedOrigin.status());

  // The XSS title shows as text, and runs nothing.
  await visit(seller, '/console/entities?type=ProfessionalServicesProduct@1.0', 'the products list');
  check('a title with HTML in it shows as text',
        (await seller.locator('td', { hasText: config.xss_title }).count()) === 1);
  await visit(seller, '/console/entities/' + config.xss_product, 'the XSS product');
  check('the XSS title ran no script', (await seller.evaluate(() => window.__xss)) === undefined);
  check('no injected element exists', (await seller.locator('main img[src="x"]').count()) === 0);
  await shot(seller, '05-entities-xss');

  // Another seller's request and product: refused as missing (404), as the API does.
  for (const [url, what] of [[`/console/requests/${config.other_change_set}`, 'request'],
                             [`/console/entities/${config.other_product}`, 'product']]) {
    const response = await seller.goto(base + url);
    check(`another seller's ${what} is refused (${response.status()})`,
          response.status() === 404 || response.status() === 403, response.status());
    check(`another seller's ${what} does not show`,
          !(await seller.content()).includes("Another seller's product"));
  }
  await visit(seller, '/console/requests', 'the Requests tab');
  check("another seller's request is not listed",
        (await seller.locator(`a[href="/console/requests/${config.other_change_set}"]`).count()) === 0);

  // The seller keeps the Requests tab open: its status follows without a reload.
  await visit(seller, '/console/requests', 'the Requests tab');
  const live = seller.locator(`[data-status-of="${pub}"]`).first();
  check('the request waiting for review is APPLYING', (await live.textContent()) === 'APPLYING');

  // ---- Seller Operations approve it.
  const opsContext = await browser.newContext();
  const ops = await signIn(opsContext, 'operations');
  await visit(ops, '/console/requests', 'the Requests tab (operations)');
  check('operations see every seller\'s requests',
        (await ops.locator(`a[href="/console/requests/${config.other_change_set}"]`).count()) === 1);
  await visit(ops, '/console/requests/' + pub, 'a request in review');
  await ops.getByLabel('Reason').fill('Looks right');
  await Promise.all([ops.waitForURL('**/console/requests/' + pub),
                     ops.getByRole('button', { name: 'Approve' }).click()]);
  await ops.waitForLoadState();
  check('approving says so', (await ops.locator('.flash').textContent()).includes('approve'));
  check('the request is SUCCEEDED', (await ops.locator('dl.facts .status').textContent()) === 'SUCCEEDED');
  await shot(ops, '06-approved');
  await accessible(ops, 'an approved request');

  await live.waitFor({ state: 'attached' });
  await seller.waitForFunction((id) => document.querySelector(`[data-status-of="${id}"]`).textContent === 'SUCCEEDED',
                               pub, { timeout: 15000 });
  check("the seller's open Requests tab shows SUCCEEDED without a reload", true);

  // The product's page: its new state, its history, its machine.
  await visit(seller, '/console/entities/' + config.product, 'a product');
  check('the product is Public now', (await seller.locator('dl.facts .state').textContent()) === 'Public',
        await seller.locator('dl.facts .state').textContent());
  check('its page lists the requests that touched it',
        (await seller.locator(`main a[href="/console/requests/${pub}"]`).count()) > 0);
  check('its machine marks the current state', (await seller.locator('figure.machine svg [fill="#ffd54f"]').count()) === 1);
  await shot(seller, '07-product');
  await accessible(seller, 'a product');

  await visit(ops, '/console/policy', 'the policy');
  check('the policy lists every machine with counts', (await ops.locator('section h2').count()) > 10 &&
        (await ops.locator('th', { hasText: 'Taken' }).count()) > 0);
  await shot(ops, '08-policy');
  await accessible(ops, 'the policy');

  // Sign-out ends the session: the cookie no longer opens a page.
  await seller.getByRole('button', { name: 'Sign out' }).click();
  await seller.waitForURL('**/console/sign-in');
  await seller.goto(base + '/console/requests');
  check('after signing out, pages send to the sign-in page', seller.url().includes('/console/sign-in'));
  await accessible(seller, 'the sign-in page');
} finally {
  await browser.close();
}
fs.writeFileSync(path.join(config.artifacts, 'page-sizes.json'), JSON.stringify(pageSizes, null, 2) + '\n');
console.log(failures.length ? `${failures.length} check(s) failed` : 'all console checks passed');
process.exit(failures.length ? 1 : 0);
