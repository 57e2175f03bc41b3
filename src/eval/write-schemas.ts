/** The published JSON Schemas under docs/ (tests fail when these drift from the code). */
import { writeFile } from 'node:fs/promises';
import { benchSchema, reportSchema } from './report.js';

export function reportSchemaJson(): string {
  return JSON.stringify(reportSchema, null, 2) + '\n';
}

export function benchSchemaJson(): string {
  return JSON.stringify(benchSchema, null, 2) + '\n';
}

export async function writeEvalSchemas(dir: string): Promise<void> {
  await writeFile(`${dir}/replay-report.schema.json`, reportSchemaJson());
  await writeFile(`${dir}/bench.schema.json`, benchSchemaJson());
}
