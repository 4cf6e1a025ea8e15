"""staff, teams, offices and services

Revision ID: e5404125c0e6
Revises: (none)
Create Date: 2026-11-22 15:20:56.038898
"""

from alembic import op
import sqlalchemy as sa
import messaging.db


revision = 'e5404125c0e6'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
    sa.UniqueConstraint('key_digest', name=op.f('uq_login_throttle_key_digest'))
    )
    op.create_table('office',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=80), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('accessibility_notes', sa.JSON(), nullable=False),
    sa.Column('map_url', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office')),
    sa.UniqueConstraint('code', name=op.f('uq_office_code'))
    )
    op.create_table('service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.JSON(), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('modes', sa.JSON(), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_service_positive_duration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
    sa.UniqueConstraint('code', name=op.f('uq_service_code'))
    )
    op.create_table('staff_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('preferred_locale', sa.String(length=8), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_member')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_member_email'))
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('code', name=op.f('uq_team_code'))
    )
    op.create_table('office_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.CheckConstraint('opens < closes', name=op.f('ck_office_hours_opens_before_closes')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_office_hours_weekday_range')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_office_hours_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_hours'))
    )
    op.create_table('office_service',
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_office_service_office_id_office'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_office_service_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', 'service_id', name=op.f('pk_office_service'))
    )
    op.create_table('staff_language',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_staff_language_staff_id_staff_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', 'language', name=op.f('pk_staff_language'))
    )
    op.create_table('staff_role',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.CheckConstraint("role IN ('operator', 'caseworker', 'coordinator', 'admin')", name=op.f('ck_staff_role_known_role')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_staff_role_staff_id_staff_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', 'role', name=op.f('pk_staff_role'))
    )
    op.create_table('staff_team',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_staff_team_staff_id_staff_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_staff_team_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', 'team_id', name=op.f('pk_staff_team'))
    )


def downgrade() -> None:
    op.drop_table('staff_team')
    op.drop_table('staff_role')
    op.drop_table('staff_language')
    op.drop_table('office_service')
    op.drop_table('office_hours')
    op.drop_table('team')
    op.drop_table('staff_member')
    op.drop_table('service')
    op.drop_table('office')
    op.drop_table('login_throttle')
