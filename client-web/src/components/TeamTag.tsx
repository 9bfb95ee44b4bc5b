import type { UserInfo } from '../protocol';

/**
 * The "Team" tag beside a transformation-team member's name (issue 13),
 * next to the leader tag wherever a name is shown. The flag comes from the
 * server in every `UserInfo`; a message's sender carries it as it was when
 * the message was sent.
 */
export function TeamTag({ user }: { user: UserInfo }) {
  if (!user.transformation_team) return null;
  return (
    <span class="tag team" data-testid="team-tag" title="Transformation team">
      Team
    </span>
  );
}
