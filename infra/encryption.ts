/**
 * The optional customer managed KMS key that encrypts the table and every queue: the
 * actions each kind of user needs, and the queue encryption settings with or without it.
 */
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";

/** KMS actions to read and write data encrypted with a customer key (table items, lane messages). */
export const keyActions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];

/** KMS actions a producer needs to send to a queue encrypted with a customer key (SQS developer guide, "Key management"). */
export const laneSenderKeyActions = ["kms:GenerateDataKey", "kms:Decrypt"];

/**
 * {@link keyActions} on the customer key, or nothing (a dropped grant) when there is
 * none: the AWS managed table key and SQS managed encryption need no grant.
 */
export function grantKey(key: kms.IKey | undefined, grantee: iam.IGrantable): iam.Grant {
  return key
    ? key.grant(grantee, ...keyActions)
    : iam.Grant.drop(grantee, "no customer managed key: AWS and SQS managed keys need no grant");
}

/** SSE-SQS, or the customer key when one is given. */
export function queueEncryption(
  key: kms.IKey | undefined,
): Pick<sqs.QueueProps, "encryption" | "encryptionMasterKey"> {
  return key
    ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key }
    : { encryption: sqs.QueueEncryption.SQS_MANAGED };
}
