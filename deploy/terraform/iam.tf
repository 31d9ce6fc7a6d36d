# Two roles, split as ECS uses them.
# - The execution role is used by the ECS agent *before* the containers run: pull the image,
#   create the awslogs streams, read the secret and the parameter injected as environment.
# - The task role is what the containers' own AWS calls use: here the collector's, sending
#   traces to X-Ray and EMF metrics to CloudWatch Logs. (Putting X-Ray permissions on the
#   execution role, as a common recipe does, leaves the collector without them.)
# In gateway mode the collector runs in its own tasks, with its own task role; the service's
# task role then carries nothing, since the service itself calls no AWS API.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-${var.environment}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-containers"
  role   = aws_iam_role.execution.id
  policy = local.rendered["execution-policy"]
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-${var.environment}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role" "collector" {
  count              = local.gateway ? 1 : 0
  name               = "${var.name}-${var.environment}-collector"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "collector" {
  name   = "export-telemetry"
  role   = local.gateway ? aws_iam_role.collector[0].id : aws_iam_role.task.id
  policy = local.rendered["collector-task-policy"]
}
