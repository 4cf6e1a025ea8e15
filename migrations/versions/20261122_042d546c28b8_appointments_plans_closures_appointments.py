"""appointments: plans, closures, appointments

Revision ID: 042d546c28b8
Revises: 1b40d7a3c148
Create Date: 2026-11-22 17:25:27.374624
"""

from alembic import op
import sqlalchemy as sa
import messaging.db


revision = '042d546c28b8'
down_revision = '1b40d7a3c148'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_closure_office_id_office'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure'))
    )
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closure_day'), ['day'], unique=False)

    op.create_table('plan_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('starts', sa.Time(), nullable=True),
    sa.Column('ends', sa.Time(), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('modes', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.CheckConstraint("kind = 'leave' OR (starts IS NOT NULL AND office_id IS NOT NULL)", name=op.f('ck_plan_exception_extra_has_hours_and_office')),
    sa.CheckConstraint("kind IN ('leave', 'extra')", name=op.f('ck_plan_exception_known_kind')),
    sa.CheckConstraint("purpose IN ('service', 'mediation')", name=op.f('ck_plan_exception_known_purpose')),
    sa.CheckConstraint('(starts IS NULL AND ends IS NULL) OR (starts IS NOT NULL AND ends IS NOT NULL AND starts < ends)', name=op.f('ck_plan_exception_hours_in_order')),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_plan_exception_days_in_order')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_plan_exception_office_id_office'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_plan_exception_staff_id_staff_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_exception'))
    )
    with op.batch_alter_table('plan_exception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_exception_staff_id'), ['staff_id'], unique=False)

    op.create_table('working_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('starts', sa.Time(), nullable=False),
    sa.Column('ends', sa.Time(), nullable=False),
    sa.Column('modes', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.CheckConstraint("purpose IN ('service', 'mediation')", name=op.f('ck_working_hours_known_purpose')),
    sa.CheckConstraint('starts < ends', name=op.f('ck_working_hours_starts_before_ends')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_working_hours_weekday_range')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_working_hours_office_id_office'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_working_hours_staff_id_staff_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_working_hours'))
    )
    with op.batch_alter_table('working_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_working_hours_staff_id'), ['staff_id'], unique=False)

    op.create_table('appointment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('mediator_id', sa.Integer(), nullable=True),
    sa.Column('mediator_language', sa.String(length=8), nullable=True),
    sa.Column('starts_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.Column('manage_token', sa.String(length=64), nullable=False),
    sa.CheckConstraint("channel IN ('web', 'phone', 'front_desk', 'api')", name=op.f('ck_appointment_known_channel')),
    sa.CheckConstraint("mode IN ('in_person', 'phone_call')", name=op.f('ck_appointment_known_mode')),
    sa.CheckConstraint("status IN ('booked', 'cancelled', 'attended', 'no_show')", name=op.f('ck_appointment_known_status')),
    sa.CheckConstraint('(mediator_id IS NULL AND mediator_language IS NULL) OR (mediator_id IS NOT NULL AND mediator_language IS NOT NULL)', name=op.f('ck_appointment_mediator_with_language')),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_appointment_starts_before_ends')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['staff_member.id'], name=op.f('fk_appointment_cancelled_by_id_staff_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_member.id'], name=op.f('fk_appointment_created_by_id_staff_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name=op.f('fk_appointment_intake_id_intake'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mediator_id'], ['staff_member.id'], name=op.f('fk_appointment_mediator_id_staff_member')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_appointment_office_id_office')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_appointment_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_appointment_service_id_service')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_appointment_staff_id_staff_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
    sa.UniqueConstraint('manage_token', name=op.f('uq_appointment_manage_token'))
    )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_intake_id'), ['intake_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_mediator_id'), ['mediator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_appointment_staff_id_starts_at', ['staff_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_status'), ['status'], unique=False)
        batch_op.create_index('uq_appointment_mediator_booked', ['mediator_id', 'starts_at'], unique=True, sqlite_where=sa.text("status = 'booked' AND mediator_id IS NOT NULL"), postgresql_where=sa.text("status = 'booked' AND mediator_id IS NOT NULL"))
        batch_op.create_index('uq_appointment_staff_booked', ['staff_id', 'starts_at'], unique=True, sqlite_where=sa.text("status = 'booked'"), postgresql_where=sa.text("status = 'booked'"))



def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('uq_appointment_staff_booked', sqlite_where=sa.text("status = 'booked'"), postgresql_where=sa.text("status = 'booked'"))
        batch_op.drop_index('uq_appointment_mediator_booked', sqlite_where=sa.text("status = 'booked' AND mediator_id IS NOT NULL"), postgresql_where=sa.text("status = 'booked' AND mediator_id IS NOT NULL"))
        batch_op.drop_index(batch_op.f('ix_appointment_status'))
        batch_op.drop_index('ix_appointment_staff_id_starts_at')
        batch_op.drop_index(batch_op.f('ix_appointment_person_id'))
        batch_op.drop_index(batch_op.f('ix_appointment_mediator_id'))
        batch_op.drop_index(batch_op.f('ix_appointment_intake_id'))

    op.drop_table('appointment')
    with op.batch_alter_table('working_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_working_hours_staff_id'))

    op.drop_table('working_hours')
    with op.batch_alter_table('plan_exception', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_exception_staff_id'))

    op.drop_table('plan_exception')
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closure_day'))

    op.drop_table('closure')
