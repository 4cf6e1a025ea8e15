"""people, intakes, call log and API tokens

Revision ID: 1b40d7a3c148
Revises: 55d9fb608ffd
Create Date: 2026-11-22 16:40:35.329863
"""

from alembic import op
import sqlalchemy as sa
import messaging.db


revision = '1b40d7a3c148'
down_revision = '55d9fb608ffd'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_name'), ['name'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('search_name', sa.String(length=201), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('codice_fiscale', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('preferred_channel', sa.String(length=20), nullable=False),
    sa.Column('safe_to_contact', sa.Boolean(), nullable=False),
    sa.Column('safe_hours', sa.String(length=11), nullable=True),
    sa.Column('whatsapp_consent_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("preferred_channel IN ('sms', 'whatsapp', 'email', 'phone_call')", name=op.f('ck_person_known_channel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_codice_fiscale'), ['codice_fiscale'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_search_name'), ['search_name'], unique=False)

    op.create_table('intake',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('questionnaire_version', sa.String(length=20), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('current_section', sa.String(length=40), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('privacy_acknowledged_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('privacy_notice_version', sa.String(length=20), nullable=True),
    sa.Column('triage', sa.JSON(), nullable=True),
    sa.Column('urgency', sa.String(length=20), nullable=True),
    sa.Column('recommended_service', sa.String(length=40), nullable=True),
    sa.CheckConstraint("channel IN ('web', 'phone', 'front_desk', 'partner')", name=op.f('ck_intake_known_channel')),
    sa.CheckConstraint("status IN ('draft', 'submitted')", name=op.f('ck_intake_known_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_member.id'], name=op.f('fk_intake_created_by_id_staff_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_intake_person_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff_member.id'], name=op.f('fk_intake_updated_by_id_staff_member'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake')),
    sa.UniqueConstraint('reference', name=op.f('uq_intake_reference'))
    )
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_urgency'), ['urgency'], unique=False)

    op.create_table('call_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('intake_id', sa.Integer(), nullable=True),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('started_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.String(length=2000), nullable=True),
    sa.Column('interpreter_needed', sa.Boolean(), nullable=False),
    sa.Column('interpreter_language', sa.String(length=20), nullable=True),
    sa.CheckConstraint("direction IN ('inbound', 'outbound')", name=op.f('ck_call_log_known_direction')),
    sa.CheckConstraint("outcome IN ('intake_started', 'intake_completed', 'appointment_booked', 'information_given', 'referred', 'call_dropped', 'other')", name=op.f('ck_call_log_known_outcome')),
    sa.CheckConstraint("reason IN ('new_request', 'follow_up', 'appointment', 'information', 'other')", name=op.f('ck_call_log_known_reason')),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name=op.f('fk_call_log_intake_id_intake'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operator_id'], ['staff_member.id'], name=op.f('fk_call_log_operator_id_staff_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_call_log_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_log'))
    )
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_log_intake_id'), ['intake_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_log_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_log_person_id'), ['person_id'], unique=False)

    op.create_table('intake_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('question_ids', sa.JSON(), nullable=False),
    sa.Column('changed_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name=op.f('fk_intake_change_intake_id_intake'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], name=op.f('fk_intake_change_staff_id_staff_member'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_change'))
    )
    with op.batch_alter_table('intake_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_change_intake_id'), ['intake_id'], unique=False)

    op.create_table('resume_pin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=False),
    sa.Column('pin_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', messaging.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', messaging.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name=op.f('fk_resume_pin_intake_id_intake'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resume_pin'))
    )
    with op.batch_alter_table('resume_pin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resume_pin_intake_id'), ['intake_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resume_pin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resume_pin_intake_id'))

    op.drop_table('resume_pin')
    with op.batch_alter_table('intake_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_change_intake_id'))

    op.drop_table('intake_change')
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_log_person_id'))
        batch_op.drop_index(batch_op.f('ix_call_log_operator_id'))
        batch_op.drop_index(batch_op.f('ix_call_log_intake_id'))

    op.drop_table('call_log')
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_urgency'))
        batch_op.drop_index(batch_op.f('ix_intake_status'))
        batch_op.drop_index(batch_op.f('ix_intake_person_id'))
        batch_op.drop_index(batch_op.f('ix_intake_expires_at'))

    op.drop_table('intake')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_search_name'))
        batch_op.drop_index(batch_op.f('ix_person_phone'))
        batch_op.drop_index(batch_op.f('ix_person_email'))
        batch_op.drop_index(batch_op.f('ix_person_codice_fiscale'))

    op.drop_table('person')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_name'))

    op.drop_table('api_token')
