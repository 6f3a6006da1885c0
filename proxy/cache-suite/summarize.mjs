// Reads the caching test suite's JSON results (from its CLI) and prints the counts the
// proxy's test asserts on: every test, and the required ones (those without a `kind`).
//   node summarize.mjs SUITE_DIR RESULTS.json
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'

const [suiteDir, resultsFile] = process.argv.slice(2)
const load = async (file) => (await import(pathToFileURL(path.join(suiteDir, file)).href)).default
const suites = await load('tests/index.mjs')
suites.push(await load('tests/surrogate-control.mjs'))
const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))

const counts = { tests: 0, ran: 0, passed: 0, failed: 0, required: 0, required_ran: 0, required_passed: 0 }
const failedRequired = []
for (const suite of suites) {
  for (const test of suite.tests) {
    if (test.browser_only) continue
    counts.tests++
    const required = test.kind === undefined || test.kind === 'required'
    if (required) counts.required++
    const result = results[test.id]
    if (result === undefined) continue
    const setup = Array.isArray(result) && result[0] === 'Setup'
    if (setup) continue
    counts.ran++
    if (required) counts.required_ran++
    if (result === true) {
      counts.passed++
      if (required) counts.required_passed++
    } else {
      counts.failed++
      if (required) failedRequired.push(`${test.id}: ${Array.isArray(result) ? result.join(': ') : result}`)
    }
  }
}
console.log(JSON.stringify(counts))
for (const line of failedRequired) console.error(`required failed: ${line}`)
