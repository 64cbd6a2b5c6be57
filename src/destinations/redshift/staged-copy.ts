import { renderColumns, renderTable } from './identifiers.js';
import { s3Url } from './manifest.js';
import type { StagedRedshiftDeliveryPlan } from './plan.js';

/**
 * The COPY the staged path issues, as Firehose issues it:
 *
 * `COPY <table> (<columns>) FROM 's3://<bucket>/<manifest key>' CREDENTIALS 'aws_iam_role=<RoleARN>' MANIFEST <CopyOptions>`
 *
 * The table and columns are quoted identifiers; the manifest URL and the role are string
 * literals escaped for Redshift, which reads a backslash in a literal as an escape (so it is
 * doubled) and a doubled quote as a quote. `CopyOptions` follow as the user wrote them: Redshift
 * parses them (config.ts refused the few that can never be right).
 */
export function stagedCopyStatement(plan: StagedRedshiftDeliveryPlan): string {
  const columns = plan.columns === undefined ? '' : ` ${renderColumns(plan.columns)}`;
  const options = plan.copyOptions.trim();
  return (
    `COPY ${renderTable(plan.table)}${columns}` +
    ` FROM ${redshiftLiteral(s3Url(plan.bucket, plan.manifestKey))}` +
    ` CREDENTIALS ${redshiftLiteral(`aws_iam_role=${plan.roleArn}`)}` +
    ` MANIFEST${options === '' ? '' : ` ${options}`}`
  );
}

/** A string literal as Redshift reads it: quotes doubled, backslashes doubled. */
export function redshiftLiteral(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
