"""waiting list

Revision ID: 5043c3a8988a
Revises: b983274b557d
Create Date: 2026-11-22 19:50:25.062786
"""

from alembic import op
import sqlalchemy as sa
import messaging.db


revision = '5043c3a8988a'
down_revision = 'b983274b557d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('waiting_list_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('missed_offers', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('manage_token', sa.String(length=64), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("channel IN ('web', 'phone', 'front_desk', 'api')", name=op.f('ck_waiting_list_entry_known_channel')),
    sa.CheckConstraint("mode IS NULL OR mode IN ('in_person', 'phone_call')", name=op.f('ck_waiting_list_entry_known_mode')),
    sa.CheckConstraint("status IN ('waiting', 'booked', 'left', 'lapsed')", name=op.f('ck_waiting_list_entry_known_status')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waiting_list_entry_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_member.id'], name=op.f('fk_waiting_list_entry_created_by_id_staff_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name=op.f('fk_waiting_list_entry_intake_id_intake'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_waiting_list_entry_office_id_office')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_waiting_list_entry_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_waiting_list_entry_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_list_entry')),
    sa.UniqueConstraint('manage_token', name=op.f('uq_waiting_list_entry_manage_token'))
    )
    with op.batch_alter_table('waiting_list_entry', schema=None) as batch_op:
        batch_op.create_index('ix_waiting_list_entry_line', ['service_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_list_entry_person_id'), ['person_id'], unique=False)

    op.create_table('waiting_list_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('mediator_id', sa.Integer(), nullable=True),
    sa.Column('mediator_language', sa.String(length=8), nullable=True),
    sa.Column('starts_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("mode IN ('in_person', 'phone_call')", name=op.f('ck_waiting_list_offer_known_mode')),
    sa.CheckConstraint("status IN ('held', 'accepted', 'declined', 'expired', 'withdrawn')", name=op.f('ck_waiting_list_offer_known_status')),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_waiting_list_offer_starts_before_ends')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waiting_list_offer_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['waiting_list_entry.id'], name=op.f('fk_waiting_list_offer_entry_id_waiting_list_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mediator_id'], ['staff_member.id'], name=op.f('fk_waiting_list_offer_mediator_id_staff_member')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_waiting_list_offer_office_id_office')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_waiting_list_offer_service_id_service')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_waiting_list_offer_staff_id_staff_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_list_offer'))
    )
    with op.batch_alter_table('waiting_list_offer', schema=None) as batch_op:
        batch_op.create_index('ix_waiting_list_offer_status_expires_at', ['status', 'expires_at'], unique=False)
        batch_op.create_index('uq_waiting_list_offer_entry_held', ['entry_id'], unique=True, sqlite_where=sa.text("status = 'held'"), postgresql_where=sa.text("status = 'held'"))
        batch_op.create_index('uq_waiting_list_offer_mediator_held', ['mediator_id', 'starts_at'], unique=True, sqlite_where=sa.text("status = 'held' AND mediator_id IS NOT NULL"), postgresql_where=sa.text("status = 'held' AND mediator_id IS NOT NULL"))
        batch_op.create_index('uq_waiting_list_offer_staff_held', ['staff_id', 'starts_at'], unique=True, sqlite_where=sa.text("status = 'held'"), postgresql_where=sa.text("status = 'held'"))



def downgrade() -> None:
    with op.batch_alter_table('waiting_list_offer', schema=None) as batch_op:
        batch_op.drop_index('uq_waiting_list_offer_staff_held', sqlite_where=sa.text("status = 'held'"), postgresql_where=sa.text("status = 'held'"))
        batch_op.drop_index('uq_waiting_list_offer_mediator_held', sqlite_where=sa.text("status = 'held' AND mediator_id IS NOT NULL"), postgresql_where=sa.text("status = 'held' AND mediator_id IS NOT NULL"))
        batch_op.drop_index('uq_waiting_list_offer_entry_held', sqlite_where=sa.text("status = 'held'"), postgresql_where=sa.text("status = 'held'"))
        batch_op.drop_index('ix_waiting_list_offer_status_expires_at')

    op.drop_table('waiting_list_offer')
    with op.batch_alter_table('waiting_list_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waiting_list_entry_person_id'))
        batch_op.drop_index('ix_waiting_list_entry_line')

    op.drop_table('waiting_list_entry')
