import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyPlan, planFor, stillApplies } from '../../src/nextEditPlan';
import { NEXT_EDIT_REQUEST, NextEditResult } from '../../src/protocol';

const lines = ['def area(width, h):', '    check(w)', '    check(h)', '    return w * h'];
const uri = 'file:///w/geo.py';
const edit = (line: number, from: number, to: number, text: string) => ({
  range: { start: { line, character: from }, end: { line, character: to } },
  text,
  textDocument: { uri, version: 7 },
  command: { title: 'Tandem: accepted', command: 'tandem.completionAccepted', arguments: [{ id: `s${line}` }] },
});
const answer: NextEditResult = { edits: [edit(1, 10, 11, 'width'), edit(3, 11, 12, 'width')] };

test('the plan previews each edited line and keeps the accept commands', () => {
  const plan = planFor(answer, (n) => lines[n]);
  assert.ok(plan);
  assert.deepEqual(plan.edits.map((e) => e.preview), ['    check(width)', '    return width * h']);
  assert.deepEqual(plan.commands.map((c) => c.arguments), [[{ id: 's1' }], [{ id: 's3' }]]);
});

test('accepting applies every edit, lines away from the cursor', () => {
  const plan = planFor(answer, (n) => lines[n]);
  assert.ok(plan);
  assert.deepEqual(applyPlan(lines, plan), ['def area(width, h):', '    check(width)', '    check(h)', '    return width * h']);
});

test('no edits, or a newer document version: nothing to show or accept', () => {
  assert.equal(planFor({ edits: [], reason: 'no_change' }, (n) => lines[n]), undefined);
  assert.equal(planFor(undefined, (n) => lines[n]), undefined);
  const plan = planFor(answer, (n) => lines[n]);
  assert.ok(plan && stillApplies(plan, uri, 7));
  assert.ok(plan && !stillApplies(plan, uri, 8));
  assert.ok(plan && !stillApplies(plan, 'file:///w/other.py', 7));
});

test('the request name matches the server and the commands are contributed with keys', () => {
  assert.equal(NEXT_EDIT_REQUEST, 'tandem/nextEdit');
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command);
  for (const cmd of ['tandem.nextEdit.suggest', 'tandem.nextEdit.jump', 'tandem.nextEdit.accept', 'tandem.nextEdit.dismiss']) {
    assert.ok(contributed.includes(cmd), cmd);
  }
  const keys = pkg.contributes.keybindings.filter((k: { when?: string }) => k.when?.includes('tandem.nextEditVisible'));
  assert.deepEqual(keys.map((k: { command: string }) => k.command).sort(), ['tandem.nextEdit.accept', 'tandem.nextEdit.dismiss', 'tandem.nextEdit.jump']);
});
